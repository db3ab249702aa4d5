package scaffold

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"urun/hooks"
)

// The hooks of create and start, at the moments the runtime spec gives
// (runtime.md, Lifecycle). urun's namespaces are the runtime's; the
// placeholder's, the container's:
//
//   - prestart, createRuntime: in urun, once the placeholder has done every
//     mount and waits before pivot_root (Placeholder.runtimeHooks);
//   - createContainer: in the placeholder right after them, still before
//     pivot_root, so their paths resolve as in the runtime's namespace;
//   - startContainer: in the placeholder when start releases it, set up as
//     the container's process, just before its execve.
//
// poststart and poststop belong to the verbs that run them (cmd/urun).

// hookFailed starts the placeholder's release report when a
// startContainer hook failed: Go returns a *HookError for it.
const hookFailed = "hook\x00"

// HookError is a failed startContainer hook. The container process has
// exited: nothing of the container runs.
type HookError struct{ Msg string }

func (e *HookError) Error() string { return e.Msg }

// runtimeHooks runs the prestart, then the createRuntime hooks in urun, the
// placeholder waiting, and lets the placeholder go on.
func (p *Placeholder) runtimeHooks() error {
	st := *p.hookState
	st.Pid = p.Pid
	if err := hooks.Run(hooks.Prestart, p.hooks.Prestart, st); err != nil {
		return err
	}
	if err := hooks.Run(hooks.CreateRuntime, p.hooks.CreateRuntime, st); err != nil {
		return err
	}
	_, err := p.sync.Write([]byte{'h'})
	return err
}

// createHooks is the placeholder's step before pivot_root: it has urun run
// the prestart and createRuntime hooks, then runs the createContainer ones.
func createHooks(sync *os.File, h *specs.Hooks, ic *initConfig) error {
	if h == nil || ic.HookState == nil {
		return nil
	}
	if len(h.Prestart)+len(h.CreateRuntime) > 0 {
		if err := writeMsg(sync, reply{RuntimeHooks: true}); err != nil {
			os.Exit(1) // create is gone
		}
		var b [1]byte
		if n, _ := sync.Read(b[:]); n != 1 || b[0] != 'h' {
			os.Exit(1) // a hook failed: create reports it and kills us
		}
	}
	return containerHooks(hooks.CreateContainer, h.CreateContainer, ic)
}

// startHooks runs the startContainer hooks, in the container.
func startHooks(h *specs.Hooks, ic *initConfig) error {
	if h == nil || ic.HookState == nil {
		return nil
	}
	return containerHooks(hooks.StartContainer, h.StartContainer, ic)
}

// containerHooks runs hooks in the placeholder; the container's own
// descriptors (3 up to FirstFD), hidden from the hooks, are passed on again.
func containerHooks(kind string, list []specs.Hook, ic *initConfig) error {
	if len(list) == 0 {
		return nil
	}
	st := *ic.HookState
	st.Pid = os.Getpid()
	if err := hooks.Run(kind, list, st); err != nil {
		return err
	}
	return hooks.Inherit(3, ic.FirstFD)
}

// LaterHooks are the hooks that run after create (poststart at start,
// poststop at delete), to keep in the state; nil when there are none.
func LaterHooks(h *specs.Hooks) *specs.Hooks {
	if h == nil || len(h.Poststart)+len(h.Poststop) == 0 {
		return nil
	}
	return &specs.Hooks{Poststart: h.Poststart, Poststop: h.Poststop}
}
