package mount

import (
	"sort"
	"strings"
)

// OptionKind is what ParseOptions does with one mounts[].options entry. It
// lets the config check name the option's index and the feature table row
// without a second, hand-kept list of options.
type OptionKind int

const (
	OptUnknown     OptionKind = iota // refused: not an option urun knows
	OptBind                          // bind, rbind
	OptFlag                          // ro, nosuid... and the defaults rw, suid...
	OptPropagation                   // private, rshared...
	OptData                          // passed to the filesystem: mode=, size=...
	OptUserspace                     // x-*: for userspace tools, skipped as mount(8) does
	OptRefused                       // known, but urun cannot honour it (idmap...)
)

// ClassifyOption says how ParseOptions treats opt; for OptRefused it also
// returns the reason ParseOptions gives.
func ClassifyOption(opt string) (OptionKind, string) {
	switch opt {
	case "bind", "rbind":
		return OptBind, ""
	}
	if _, ok := flagOptions[opt]; ok {
		return OptFlag, ""
	}
	if _, ok := propagationOptions[opt]; ok {
		return OptPropagation, ""
	}
	if why, ok := refusedOptions[opt]; ok {
		return OptRefused, why
	}
	key, _, _ := strings.Cut(opt, "=")
	if dataOptions[key] {
		return OptData, ""
	}
	if strings.HasPrefix(key, "x-") {
		return OptUserspace, ""
	}
	return OptUnknown, ""
}

// KnownOptions lists the options urun applies as mount flags, propagation or
// bind requests, sorted: the features document's mountOptions.
func KnownOptions() []string {
	out := []string{"bind", "rbind"}
	for o := range flagOptions {
		out = append(out, o)
	}
	for o := range propagationOptions {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}

// DataOptionKeys lists the filesystem options passed through as mount data
// (mode, size, ...), sorted.
func DataOptionKeys() []string {
	out := make([]string, 0, len(dataOptions))
	for o := range dataOptions {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}

// RefusedOptions lists the options urun knows and refuses, sorted.
func RefusedOptions() []string {
	out := make([]string, 0, len(refusedOptions))
	for o := range refusedOptions {
		out = append(out, o)
	}
	sort.Strings(out)
	return out
}
