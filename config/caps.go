package config

import (
	"strings"

	"github.com/moby/sys/capability"
)

func allCapNames() []string {
	var out []string
	for _, c := range capability.ListKnown() {
		out = append(out, "CAP_"+strings.ToUpper(c.String()))
	}
	return out
}
