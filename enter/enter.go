// Package enter starts another process in a running container (urun
// exec). Go cannot setns into a user namespace once its runtime has
// started threads, so the parent forks a child that runs only raw system
// calls (fork.go): it joins the container process's namespaces, chroots
// to that process's root and re-executes urun, now inside. That urun
// (child.go) applies process.* with package proc, as create does, and
// execs the command: the exec'd process is the child itself.
package enter

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"urun/internal/rawfork"
	"urun/ulog"
)

// Arg0 is argv[0] of urun re-executed inside the container; main
// dispatches on it before parsing a command line.
const Arg0 = "urun-exec"

// Opts describes one process to start.
type Opts struct {
	Pid     int         // the container's main process, whose namespaces and root are entered
	Alive   func() bool // reports whether Pid is still the container's process (not reused)
	Process *specs.Process
	// PreserveFDs: fds 3..3+PreserveFDs-1 are passed on, as with create;
	// each must be one of CallerFDs (urun's caller gave it).
	PreserveFDs int
	CallerFDs   map[int]bool
	Setgroups   bool // the container's user namespace allows setgroups
	// Console, with Process.Terminal: the socket the pty master goes to
	// (console.Setup runs inside, as create's placeholder does).
	Console *os.File
}

// Proc is a started process: urun's child, in the container.
type Proc struct {
	Pid   int
	pidfd int
}

// childConfig is what the child reads from the sync socket.
type childConfig struct {
	Process   *specs.Process `json:"process"`
	Setgroups bool           `json:"setgroups"` // the container's user namespace allows setgroups
	FirstFD   int            `json:"firstFD"`   // fds from here on are not the process's
	ConsoleFD int            `json:"consoleFD"` // -1: no terminal
}

// namespaces the process joins when the container's differs from ours,
// besides user and mount. pid and time are left out: setns into them
// affects only children, and urun never puts a container in its own.
var others = []struct {
	name string
	kind uintptr
}{{"net", unix.CLONE_NEWNET}, {"ipc", unix.CLONE_NEWIPC}, {"uts", unix.CLONE_NEWUTS}, {"cgroup", unix.CLONE_NEWCGROUP}}

// Start starts o.Process in the container and returns once it runs (its
// execve succeeded) or has failed; on error nothing is left running.
func Start(o Opts) (_ *Proc, err error) {
	var toClose []int
	defer func() {
		for _, fd := range toClose {
			unix.Close(fd)
		}
	}()
	open := func(path string, flags int) (int, error) {
		fd, err := unix.Open(path, flags|unix.O_CLOEXEC, 0)
		if err == nil {
			toClose = append(toClose, fd)
		}
		return fd, err
	}
	dir := "/proc/" + strconv.Itoa(o.Pid) + "/"
	a := &forkArgs{user: -1, mnt: -1}
	for _, ns := range others {
		fd, same, err := openNS(open, dir, ns.name)
		if err != nil {
			return nil, err
		}
		if !same {
			a.others = append(a.others, nsFD{fd: fd, kind: ns.kind})
		}
	}
	if fd, same, err := openNS(open, dir, "user"); err != nil {
		return nil, err
	} else if !same {
		a.user = fd
	}
	if a.mnt, _, err = openNS(open, dir, "mnt"); err != nil {
		return nil, err
	}
	if a.root, err = open(dir+"root", unix.O_PATH|unix.O_DIRECTORY); err != nil {
		return nil, fmt.Errorf("open the container's root %sroot: %w", dir, err)
	}
	// Everything above must be the container process's, not a later one's
	// with its PID.
	if !o.Alive() {
		return nil, errors.New("the container's process exited")
	}
	if a.exe, err = open("/proc/self/exe", unix.O_RDONLY); err != nil {
		return nil, fmt.Errorf("open urun's own executable: %w", err)
	}
	for i := 0; i < o.PreserveFDs; i++ {
		if !o.CallerFDs[3+i] {
			// Whatever urun holds there itself is not the caller's to pass.
			return nil, fmt.Errorf("--preserve-fds %d: fd %d was not open in urun's caller (only descriptors the caller passed to urun can be preserved)", o.PreserveFDs, 3+i)
		}
		a.keep = append(a.keep, 3+i)
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("socketpair: %w", err)
	}
	toClose = append(toClose, pair[1])
	sync := os.NewFile(uintptr(pair[0]), "exec-sync")
	defer sync.Close()
	var pipe [2]int
	if err := unix.Pipe2(pipe[:], unix.O_CLOEXEC); err != nil {
		return nil, fmt.Errorf("pipe: %w", err)
	}
	toClose = append(toClose, pipe[1])
	errPipe := os.NewFile(uintptr(pipe[0]), "exec-err")
	defer errPipe.Close()
	a.errPipe = pipe[1]
	a.keep = append(a.keep, pair[1])
	consoleFD := -1
	if o.Console != nil {
		consoleFD = int(o.Console.Fd())
		a.keep = append(a.keep, consoleFD)
	}
	env := []string{}
	if ulog.TraceOn() {
		env = append(env, ulog.TraceEnv+"=1")
	}
	if a.argv, err = syscall.SlicePtrFromStrings([]string{Arg0, strconv.Itoa(pair[1])}); err != nil {
		return nil, err
	}
	if a.envv, err = syscall.SlicePtrFromStrings(env); err != nil {
		return nil, err
	}
	a.empty, _ = syscall.BytePtrFromString("")
	a.dot, _ = syscall.BytePtrFromString(".")

	ulog.Trace("exec: fork")
	syscall.ForkLock.Lock()
	pid, e := forkEnter(a)
	syscall.ForkLock.Unlock()
	runtime.KeepAlive(a)
	if e != 0 {
		return nil, fmt.Errorf("fork: %w", e)
	}
	p := &Proc{Pid: pid, pidfd: int(a.pidfdOut)}
	defer func() {
		if err != nil {
			p.Signal(unix.SIGKILL)
			p.Wait()
			p.Release()
		}
	}()
	for _, fd := range toClose { // the child's copies are the ones that count
		unix.Close(fd)
	}
	toClose = nil

	// The raw child either execs urun (the pipe closes: EOF) or writes
	// the step and errno that failed.
	var rep rawfork.Report
	if n, _ := io.ReadFull(errPipe, rep[:]); n == len(rep) {
		step, errno := rep.Decode()
		return nil, fmt.Errorf("%s: %w%s", stepNames[step], errno, hint(step, errno))
	}
	ulog.Trace("exec: inside")
	cfg := childConfig{Process: o.Process, Setgroups: o.Setgroups, FirstFD: 3 + o.PreserveFDs, ConsoleFD: consoleFD}
	if err := json.NewEncoder(sync).Encode(cfg); err != nil {
		return nil, fmt.Errorf("send the process to the container: %w", err)
	}
	// EOF: the command's execve closed the child's end (close-on-exec).
	msg, err := io.ReadAll(sync)
	if err != nil {
		return nil, fmt.Errorf("start the process: %w", err)
	}
	if len(msg) > 0 {
		return nil, errors.New(string(msg))
	}
	ulog.Trace("exec: started")
	return p, nil
}

// openNS opens dir/ns/name and says whether it is our own namespace.
func openNS(open func(string, int) (int, error), dir, name string) (int, bool, error) {
	path := dir + "ns/" + name
	fd, err := open(path, unix.O_RDONLY)
	if err != nil {
		return -1, false, fmt.Errorf("open the container's %s namespace %s: %w", name, path, err)
	}
	var theirs, ours unix.Stat_t
	if err := unix.Fstat(fd, &theirs); err != nil {
		return -1, false, fmt.Errorf("%s: %w", path, err)
	}
	if err := unix.Stat("/proc/self/ns/"+name, &ours); err != nil {
		return fd, false, nil // ours unknown: enter theirs
	}
	return fd, theirs.Dev == ours.Dev && theirs.Ino == ours.Ino, nil
}

func hint(step byte, e syscall.Errno) string {
	switch {
	case e == unix.EPERM && (step == stepUser || step == stepMnt):
		return " (only the account that created the container, or root over its user namespace, can enter it)"
	case e == unix.ENOENT && step == stepExec:
		return " (urun runs itself inside the container: it must be a static binary, built with CGO_ENABLED=0)"
	}
	return ""
}

// Signal sends sig to the process.
func (p *Proc) Signal(sig unix.Signal) error {
	return unix.PidfdSendSignal(p.pidfd, sig, nil, 0)
}

// Wait reaps the process and returns its status.
func (p *Proc) Wait() (unix.WaitStatus, error) {
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(p.Pid, &ws, 0, nil)
		if err != unix.EINTR {
			return ws, err
		}
	}
}

// Release forgets the process, leaving it running (--detach): it is
// re-parented when urun exits.
func (p *Proc) Release() {
	if p.pidfd >= 0 {
		unix.Close(p.pidfd)
		p.pidfd = -1
	}
}
