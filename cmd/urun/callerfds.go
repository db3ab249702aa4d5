package main

import (
	"sync"

	"urun/proc"
)

// callerFDs are the descriptors from 3 up that urun's caller gave it, the
// only ones --preserve-fds and LISTEN_FDS may pass on: fds 3.. of urun's
// own (the Go runtime's cgroup files, a container's locked state
// directory) must never reach a container. proc.Inherited tells them from
// the runtime's however late it runs, as long as urun opened nothing
// without O_CLOEXEC, so they are listed by recordCallerFDs at the start of
// realMain, before anything of urun's runs, for every verb that may start
// a process, and not at all for state, start, kill and delete (a listing
// of /proc/self/fd per call) unless they run a hook.
// callerFDsErr says why they could not be listed (then none can be passed).
var (
	callerFDs     map[int]bool
	callerFDsErr  error
	callerFDsOnce sync.Once
)

// recordCallerFDs lists the caller's descriptors once and marks them
// close-on-exec from then on: a child gets one only when it is handed over
// explicitly (the preserved ones, by os/exec's ExtraFiles), not a hook.
func recordCallerFDs() {
	callerFDsOnce.Do(func() {
		fds, err := proc.Inherited()
		proc.SetCloexec(fds)
		set := make(map[int]bool, len(fds))
		for _, fd := range fds {
			set[fd] = true
		}
		callerFDs, callerFDsErr = set, err
	})
}

// leanVerb: the verbs that start no process of their own but hooks (see
// hooks.go), called per build step; they skip the descriptor listing.
func leanVerb(verb string) bool {
	switch verb {
	case "start", "state", "kill", "delete":
		return true
	}
	return false
}
