package main

import (
	"os"

	"urun/enter"
	"urun/proc"
	"urun/scaffold"
)

// callerFDs are the descriptors from 3 up that urun's caller gave it, the
// only ones --preserve-fds and LISTEN_FDS may pass on: fds 3.. of urun's
// own (the Go runtime's cgroup files, a container's locked state
// directory) must never reach a container. Recorded in init, before
// anything of urun's runs; proc.Inherited tells them from the runtime's.
// callerFDsErr says why they could not be listed (then none can be passed).
var callerFDs, callerFDsErr = recordCallerFDs()

func recordCallerFDs() (map[int]bool, error) {
	if len(os.Args) > 0 && (os.Args[0] == scaffold.InitArg0 || os.Args[0] == enter.Arg0) {
		return nil, nil // the placeholder and exec's child keep their own (see scaffold.InitMain, enter.ChildMain)
	}
	fds, err := proc.Inherited()
	// Close-on-exec from now on: a child gets one only when it is handed
	// over explicitly (the preserved ones, by os/exec's ExtraFiles).
	proc.SetCloexec(fds)
	set := make(map[int]bool, len(fds))
	for _, fd := range fds {
		set[fd] = true
	}
	return set, err
}
