package spawn

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"urun/hooks"
	"urun/initproc"
)

// The hooks of create and start, at the moments the runtime spec gives
// (runtime.md, Lifecycle). urun's namespaces are the runtime's; the
// placeholder's, the container's:
//
//   - prestart, createRuntime: in urun, once the placeholder has done every
//     mount and waits before pivot_root (Placeholder.runtimeHooks);
//   - createContainer: in the placeholder right after them, still before
//     pivot_root, so their paths resolve as in the runtime's namespace
//     (initproc/hooks.go);
//   - startContainer: in the placeholder when start releases it, set up as
//     the container's process, just before its execve (initproc/hooks.go).
//
// poststart and poststop belong to the verbs that run them (cmd/urun).

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
	_, err := p.sync.Write([]byte{initproc.HooksDoneByte})
	return err
}

// LaterHooks are the hooks that run after create (poststart at start,
// poststop at delete), to keep in the state; nil when there are none.
func LaterHooks(h *specs.Hooks) *specs.Hooks {
	if h == nil || len(h.Poststart)+len(h.Poststop) == 0 {
		return nil
	}
	return &specs.Hooks{Poststart: h.Poststart, Poststop: h.Poststop}
}
