// Command urun is a rootless OCI runtime for unprivileged builds: it creates
// only a user and a mount namespace, and the PID it reports is the
// container process itself.
package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strings"

	"golang.org/x/sys/unix"

	"urun/config"
	"urun/enter"
	"urun/initproc"
	"urun/store"
	"urun/ulog"
)

// Set by the Makefile with -ldflags.
var (
	version = "dev"
	commit  = "unknown"
)

func init() {
	// The placeholder sets credentials and capabilities per thread and then
	// execs, and the in-process executor unshares and mounts on its thread
	// and forks from it: keep main on one OS thread (the first) from the
	// start. state, start, kill and delete only read, signal and remove,
	// from any thread; they skip the lock, whose first call starts the
	// runtime's template thread (~0.065 ms measured, in every call).
	if !lockFree(os.Args) {
		runtime.LockOSThread()
	}
}

// lockFree: argv is a lean verb of the CLI, not the placeholder, exec's
// child or the janitor (see main).
func lockFree(argv []string) bool {
	if len(argv) < 2 {
		return false
	}
	switch argv[0] {
	case initproc.Arg0, enter.Arg0, janitorArg0:
		return false
	}
	return leanVerb(verbIn(argv[1:]))
}

// exitCode carries a container's exit status out of run.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// signalled is an error that ends urun with 128+N, as a hang ended by
// signal N does (URUN_HANG=create and create-setup: the error is logged).
type signalled struct {
	error
	sig unix.Signal
}

func main() {
	ulog.Trace("main")
	if len(os.Args) > 0 && os.Args[0] == initproc.Arg0 {
		initproc.InitMain()
	}
	if len(os.Args) > 0 && os.Args[0] == enter.Arg0 {
		enter.ChildMain()
	}
	if len(os.Args) > 0 && os.Args[0] == janitorArg0 {
		recordCallerFDs()
		os.Exit(janitorMain(os.Args[1:]))
	}
	os.Exit(realMain(os.Args[1:]))
}

// primeJSON builds encoding/json's tables for what run, create and exec
// decode and write (config.json, then state.json), off their critical path
// (see config.Prime).
func primeJSON() {
	config.Prime()
	store.PrimeState()
}

func realMain(args []string) int {
	args = launchArgs(args)
	verb := verbIn(args)
	if !leanVerb(verb) {
		recordCallerFDs()
	}
	switch verb {
	case "run", "launch": // foreground (run -d too: see createOpts.detach)
		startEarlyNotify(forwarded, forwardedRest, primeJSON)
	case "exec":
		if !slices.Contains(args, "--detach") && !slices.Contains(args, "-d") {
			startEarlyNotify(forwarded, forwardedRest, primeJSON)
		}
	case "create":
		if !strings.HasPrefix(os.Getenv("URUN_HANG"), "create") { // hangCreating has its own
			startEarlyNotify(interrupting, nil, primeJSON)
		}
	}
	var c cli
	verb, run, fast := fastParse(args, &c)
	if !fast {
		c = cli{}
		parser, err := newParser(&c, args)
		if err != nil {
			fmt.Fprintln(os.Stderr, "urun:", err)
			return 1
		}
		ulog.Trace("cli model built")
		ctx, err := parser.Parse(args)
		if err != nil {
			return parseFailed(args, err)
		}
		verb = ctx.Selected().Name
		run = func(g *Globals) error { return ctx.Run(g) }
	}
	ulog.Trace("cli parsed")
	closer, err := ulog.Setup(c.Log, c.LogFormat, c.Debug)
	if err != nil {
		fmt.Fprintf(os.Stderr, "urun: --log %s: %v\n", c.Log, err)
		return 1
	}
	defer closer.Close()
	ulog.Trace("log set up")
	if code := hangIfAsked(verb); code != 0 {
		return code
	}
	if c.SystemdCgroup {
		ulog.L.Debug().Msg("--systemd-cgroup ignored: urun manages no cgroups")
	}
	err = run(&c.Globals)
	ulog.Trace("verb done")
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	default:
		ulog.L.Error().Msg(err.Error())
		var sig signalled
		if errors.As(err, &sig) {
			return 128 + int(sig.sig)
		}
		return 1
	}
}

// hangIfAsked implements URUN_HANG=<verb>: log, then wait for SIGTERM,
// SIGINT or SIGHUP, so a person can inspect the bundle and state
// mid-build. It has made nothing yet, so it only says which signal ended
// it and returns 128+N (0: no hang).
//
// create hangs later, in createContainer, once the container is reserved:
// its state is what a person debugging a build wants to look at.
func hangIfAsked(verb string) int {
	if os.Getenv("URUN_HANG") != verb || verb == "create" {
		return 0
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, interrupting...)
	var caught chan os.Signal // run's early catch, which may hold one already
	if early != nil {
		caught = early.sigs
	}
	ulog.L.Warn().Int("pid", os.Getpid()).Strs("args", os.Args).
		Msgf("URUN_HANG=%s: urun %s is hanging before doing anything; end it with SIGTERM, SIGINT or SIGHUP (kill %d)", verb, verb, os.Getpid())
	for {
		var s os.Signal
		select {
		case s = <-sigs:
		case s = <-caught:
		}
		if n, ok := s.(unix.Signal); ok && slices.Contains(interrupting, s) {
			ulog.L.Error().Msgf("urun %s: URUN_HANG=%s: stopped by %s while hanging; nothing was done", verb, verb, unix.SignalName(n))
			return 128 + int(n)
		}
	}
}

// exitStatus turns a wait status into the shell convention: the exit
// code, or 128+N when killed by signal N.
func exitStatus(ws unix.WaitStatus) error {
	switch {
	case ws.Signaled():
		return exitCode(128 + int(ws.Signal()))
	case ws.ExitStatus() != 0:
		return exitCode(ws.ExitStatus())
	}
	return nil
}
