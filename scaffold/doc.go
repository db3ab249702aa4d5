// Package scaffold starts the container from its plan: the two executors
// (the re-executed placeholder and the in-process one), the create/start
// protocol between urun and the parked container, and the placeholder's
// side of it (InitMain).
package scaffold
