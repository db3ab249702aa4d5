// The signals urun catches: the ones that end a create, the ones run and
// exec pass on to the container, and how they are caught before a verb
// starts (earlyNotify).

package main

import (
	"os"
	"os/signal"
	"syscall"

	"golang.org/x/sys/unix"
)

// forwarded are the signals run passes on to the container: all that can
// be caught, as runc does, except SIGCHLD (ours), SIGURG (the Go runtime's
// preemption signal) and SIGPIPE (about our own output), and 32 and 33,
// which C libraries keep for themselves. The first ones are caught before
// anything exists; Go enables each signal with a round trip to its signal
// thread (~15 us), so the rest are caught while create works, and before
// the command starts.
var forwarded = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2}

var forwardedRest = func() []os.Signal {
	var out []os.Signal
	for s := syscall.Signal(1); s <= 64; s++ {
		switch s {
		case syscall.SIGKILL, syscall.SIGSTOP, syscall.SIGCHLD, syscall.SIGURG, syscall.SIGPIPE, 32, 33,
			syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT, syscall.SIGUSR1, syscall.SIGUSR2:
			continue
		}
		out = append(out, s)
	}
	return out
}()

// forward passes every signal from sigs to send until done is closed.
func forward(sigs chan os.Signal, send func(os.Signal)) (done chan struct{}) {
	done = make(chan struct{})
	go func() {
		for {
			select {
			case s := <-sigs:
				send(s)
			case <-done:
				return
			}
		}
	}()
	return done
}

// earlyNotify is signal.Notify for run and create, started before the
// command line is parsed. The first Notify waits for the runtime to start
// a thread that owns the signal mask (0.3 to 1 ms here, up to 4 ms seen),
// so it runs alongside kong instead of after it.
type earlyNotify struct {
	sigs  chan os.Signal
	ready chan struct{} // the first signals are caught
	all   chan struct{} // and the rest
}

var early *earlyNotify

// startEarlyNotify is called from main for run (not detached) and create;
// the wait methods fall back to a plain Notify when it was not. meanwhile
// (primeJSON: these verbs decode a config.json) runs on the same
// goroutine once the first signals are caught, before the rest, which run
// waits for only after the fork: with two CPUs, a goroutine of its own
// waited behind this one or delayed it (measured, +0.4 ms either way).
func startEarlyNotify(first, rest []os.Signal, meanwhile func()) {
	early = &earlyNotify{sigs: make(chan os.Signal, 8), ready: make(chan struct{}), all: make(chan struct{})}
	go func() {
		signal.Notify(early.sigs, first...)
		close(early.ready)
		meanwhile()
		if len(rest) > 0 {
			signal.Notify(early.sigs, rest...)
		}
		close(early.all)
	}()
}

func (e *earlyNotify) wait(first ...os.Signal) chan os.Signal {
	if e == nil {
		early = &earlyNotify{sigs: make(chan os.Signal, 8)}
		signal.Notify(early.sigs, first...)
		return early.sigs
	}
	<-e.ready
	return e.sigs
}

func (e *earlyNotify) waitRest(rest ...os.Signal) {
	if e == nil || e.all == nil {
		signal.Notify(early.sigs, rest...)
		return
	}
	<-e.all
}

// interrupting are the signals that end a create before it is done.
var interrupting = []os.Signal{unix.SIGINT, unix.SIGTERM, unix.SIGHUP}
