package main

import (
	"errors"
	"strings"
)

// refusedVerbs are runc verbs urun cannot honour. They exist so that a
// caller (containerd, Docker, a person) gets one line saying why, and a
// non-zero exit, instead of "unexpected argument"; they change nothing.
var refusedVerbs = []struct{ name, help, why string }{
	{"pause", "Refused: freezing needs a cgroup, and urun manages none.",
		"not supported: freezing a container's processes needs a cgroup of its own, and urun manages no cgroups; nothing was changed"},
	{"resume", "Refused: urun cannot pause, so there is nothing to resume.",
		"not supported: urun manages no cgroups, so it never pauses a container and has nothing to resume; nothing was changed"},
	{"update", "Refused: resource limits need a cgroup, and urun manages none.",
		"not supported: changing a container's resource limits needs a cgroup of its own, and urun manages no cgroups; nothing was changed"},
	{"checkpoint", "Refused: checkpointing needs CRIU, which urun does not use.",
		"not supported: checkpointing needs CRIU, which urun does not use; the container is left as it was and nothing was saved"},
	{"restore", "Refused: restoring needs CRIU, which urun does not use.",
		"not supported: restoring a checkpoint needs CRIU, which urun does not use; nothing was created"},
	{"events", "Refused: events and statistics come from a cgroup, and urun manages none.",
		"not supported: events and resource statistics come from a container's cgroup, and urun manages no cgroups (memory and CPU use are the caller's cgroup's)"},
}

func init() {
	for _, r := range refusedVerbs {
		verbs = append(verbs, struct {
			name, help string
			target     func(*cli) any
		}{r.name, r.help, func(*cli) any { return &refusedCmd{verb: r.name, why: r.why} }})
	}
}

// refusedCmd takes any words, runc's flags included, so that the refusal,
// not a parse error, is what the caller reads.
type refusedCmd struct {
	Args      []string `arg:"" optional:"" passthrough:"all" help:"Anything runc takes; urun refuses the verb whatever they are."`
	verb, why string
}

func (c *refusedCmd) Run(*Globals) error {
	return wrap(c.verb, lastWord(c.Args), errors.New(c.why))
}

// lastWord is the container ID in runc's order (flags, then the ID), or ""
// when the last word is a flag.
func lastWord(args []string) string {
	if len(args) == 0 || strings.HasPrefix(args[len(args)-1], "-") {
		return ""
	}
	return args[len(args)-1]
}
