package initproc

import (
	"errors"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"urun/nsjoin"
	"urun/proc"
)

// JoinUserArg is the placeholder's mode when the container joins a user
// namespace by path: the re-executed urun is only a helper that forks the
// real placeholder into the namespaces (nsjoin/user.go) and exits.
const JoinUserArg = "join-user"

// JoinedReply is the helper's report to create.
type JoinedReply struct {
	Pid   int
	Error string
	Setns int // 1 + the index of the namespace a failed setns was for
}

// joinUserMain is the helper (argv: urun-init SYNCFD join-user LISTENFD NSFD...).
func joinUserMain(sync *os.File) {
	var fds []int
	for _, a := range os.Args[4:] {
		fd, err := strconv.Atoi(a)
		if err != nil {
			os.Exit(2)
		}
		fds = append(fds, fd)
	}
	pid, err := nsjoin.ForkInUser(fds, "/proc/self/exe", []string{Arg0, os.Args[1], "run", os.Args[3]})
	r := JoinedReply{Pid: pid}
	if err != nil {
		r.Error = err.Error()
		var se *nsjoin.SetnsError
		if errors.As(err, &se) {
			r.Setns = 1 + se.Index
		}
	}
	if WriteMsg(sync, &r) != nil {
		os.Exit(1)
	}
	os.Exit(0)
}

// endSetupCaps drops the capabilities a placeholder whose uid is not root
// in its namespace held for set-up.
func endSetupCaps(c *specs.LinuxCapabilities) error {
	return proc.EndSetupCaps(c, false)
}
