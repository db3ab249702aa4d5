package ulog

import (
	"bytes"
	"encoding/json"
	"sort"
	"strconv"
)

// formatText renders one zerolog JSON event as a text line. Errors print as
// "msg" alone because the message already carries the full context
// ("urun create web1: mount /proc: ..."); other levels get a prefix.
func formatText(p []byte) []byte {
	var ev map[string]any
	if err := json.Unmarshal(p, &ev); err != nil {
		return p
	}
	var b bytes.Buffer
	level, _ := ev["level"].(string)
	msg, _ := ev["msg"].(string)
	switch level {
	case "error", "fatal", "panic":
		b.WriteString(msg)
	default:
		b.WriteString("urun: ")
		b.WriteString(level)
		b.WriteString(": ")
		b.WriteString(msg)
	}
	keys := make([]string, 0, len(ev))
	for k := range ev {
		if k != "level" && k != "msg" && k != "time" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		var v []byte
		if s, ok := ev[k].(string); ok {
			v = []byte(s)
			if bytes.ContainsAny(v, " \t\"=\n\r") {
				v = []byte(strconv.Quote(s))
			}
		} else {
			v, _ = json.Marshal(ev[k])
		}
		b.WriteByte(' ')
		b.WriteString(k)
		b.WriteByte('=')
		b.Write(v)
	}
	b.WriteByte('\n')
	return b.Bytes()
}
