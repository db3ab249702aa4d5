package initproc

import (
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"urun/hooks"
)

// HookFailed starts the placeholder's release report when a
// startContainer hook failed: Go returns a *HookError for it.
const HookFailed = "hook\x00"

// createHooks is the placeholder's step before pivot_root: it has urun run
// the prestart and createRuntime hooks, then runs the createContainer ones.
func createHooks(sync *os.File, h *specs.Hooks, ic *Config) error {
	if h == nil || ic.HookState == nil {
		return nil
	}
	if len(h.Prestart)+len(h.CreateRuntime) > 0 {
		if err := WriteMsg(sync, &Reply{RuntimeHooks: true}); err != nil {
			os.Exit(1) // create is gone
		}
		var b [1]byte
		if n, _ := sync.Read(b[:]); n != 1 || b[0] != HooksDoneByte {
			os.Exit(1) // a hook failed: create reports it and kills us
		}
	}
	return containerHooks(hooks.CreateContainer, h.CreateContainer, ic)
}

// startHooks runs the startContainer hooks, in the container.
func startHooks(h *specs.Hooks, ic *Config) error {
	if h == nil || ic.HookState == nil {
		return nil
	}
	return containerHooks(hooks.StartContainer, h.StartContainer, ic)
}

// containerHooks runs hooks in the placeholder; the container's own
// descriptors (3 up to FirstFD), hidden from the hooks, are passed on again.
func containerHooks(kind string, list []specs.Hook, ic *Config) error {
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
