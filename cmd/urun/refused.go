package main

import (
	"errors"
	"strings"

	"urun/config"
)

// The refused verbs are config.Operations' Refused rows (why they exist:
// there), so that unsupported.md and `urun features` list them too.
func init() {
	for _, o := range config.Operations {
		if o.Disp != config.Refused {
			continue
		}
		verbs = append(verbs, struct {
			name, help string
			target     func(*cli) any
		}{o.Name, o.Help, func(*cli) any { return &refusedCmd{verb: o.Name, why: "not supported: " + o.Reason} }})
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
