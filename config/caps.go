package config

import (
	"strings"
	"sync"

	"github.com/moby/sys/capability"

	"urun/proc"
)

// capNumbers maps "CAP_CHOWN" to its number for every capability the
// capability library knows; built once, when a config is first checked
// (not at start-up: state, start, kill and delete never need it), so the
// walk does no string work.
var capNumbers = sync.OnceValue(func() map[string]capability.Cap {
	m := make(map[string]capability.Cap, 64)
	for _, c := range capability.ListKnown() {
		m["CAP_"+strings.ToUpper(c.String())] = c
	}
	return m
})

// capKnown reports whether urun knows the name, and whether the running
// kernel does (proc.SetCapabilities leaves out the ones it does not).
func capKnown(name string) (num capability.Cap, known, inKernel bool) {
	c, ok := capNumbers()[name]
	if !ok {
		return 0, false, false
	}
	last, err := lastCap()
	return c, true, err != nil || c <= last
}

// allCapNames lists the known capabilities in number order.
func allCapNames() []string {
	known := capability.ListKnown()
	out := make([]string, 0, len(known))
	for _, c := range known {
		out = append(out, "CAP_"+strings.ToUpper(c.String()))
	}
	return out
}

// lastCap is the running kernel's highest capability (a variable for tests).
var lastCap = capability.LastCap

func rlimitByName(name string) (int, bool) {
	r, ok := proc.Rlimits[name]
	return r, ok
}
