package main

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"urun/config"
	"urun/hooks"
	"urun/spawn"
	"urun/store"
	"urun/ulog"
)

// The verbs' hooks: poststart once the container's process runs (start,
// run), poststop once the container is gone (delete, run, and a create or
// start that failed after its hooks may have run). Both run in urun, the
// runtime's namespaces; a failing one is a warning and the lifecycle goes
// on. create's and start's other hooks run in spawn and initproc (hooks.go there).

func poststart(op string, st *store.State) {
	if st.Hooks != nil {
		recordCallerFDs() // a hook must not inherit the caller's descriptors
		hooks.Warn(hooks.Poststart, st.Hooks.Poststart, st.State, warnHook(op, st.ID))
	}
}

func poststop(op string, st *store.State) {
	if st.Hooks != nil {
		recordCallerFDs() // a hook must not inherit the caller's descriptors
		hooks.Warn(hooks.Poststop, st.Hooks.Poststop, st.State, warnHook(op, st.ID))
	}
}

// poststopFailedCreate runs the poststop hooks after a create that failed
// once the container process had the config: the spec's lifecycle goes on
// from a failed create hook to the destruction, then the poststop hooks.
func poststopFailedCreate(o createOpts, b *config.Bundle) {
	op := "create"
	if !o.park {
		op = "run"
	}
	if b.Spec != nil {
		poststop(op, &store.State{State: specs.State{Version: specs.Version, ID: o.id, Bundle: b.Dir,
			Annotations: b.Spec.Annotations}, Hooks: spawn.LaterHooks(b.Spec.Hooks)})
	}
}

func warnHook(op, id string) func(error) {
	return func(err error) {
		ulog.L.Warn().Msgf("urun %s %s: %v (a warning: the lifecycle goes on)", op, id, err)
	}
}
