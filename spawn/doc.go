// Package spawn is create's side of starting a container from its plan,
// with either executor: the two-process one (Start re-executes urun as the
// placeholder, package initproc, maps its IDs and sends it the plan) and
// the in-process one (RunInProcess executes the plan on a locked thread
// and forks the container process from it); and start's side of releasing
// a created container (Go).
package spawn
