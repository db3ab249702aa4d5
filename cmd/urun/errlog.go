package main

import (
	"strings"

	"urun/ulog"
)

// parseFailed reports a command-line error where the caller reads it:
// stderr, and the --log file in --log-format. containerd and Docker show
// the last error of the JSON log, not stderr; a bare "exit status 2" is
// all their user sees otherwise. kong fills no flag when parsing fails,
// so the two log flags are read from the words themselves.
func parseFailed(args []string, err error) int {
	file, format := logFlags(args)
	if closer, lerr := ulog.Setup(file, format, false); lerr == nil {
		defer closer.Close()
	} else {
		ulog.Setup("", "text", false) //nolint:errcheck // stderr only: cannot fail
	}
	ulog.L.Error().Msg("urun: " + err.Error() + " (see urun --help)")
	return 2
}

// logFlags finds --log and --log-format (either spelling: "--log F",
// "--log=F") before any "--". A bad format falls back to text, which is
// what its own parse error complains about.
func logFlags(args []string) (file, format string) {
	format = "text"
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			break
		}
		name, val, eq := strings.Cut(a, "=")
		if name != "--log" && name != "--log-format" {
			continue
		}
		if !eq {
			if i+1 >= len(args) {
				break
			}
			i++
			val = args[i]
		}
		if name == "--log" {
			file = val
		} else if val == "json" {
			format = val
		} else {
			format = "text"
		}
	}
	return file, format
}
