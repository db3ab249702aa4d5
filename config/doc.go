package config

import (
	"bytes"
	"fmt"
	"strings"
)

// Markdown renders unsupported.md from Table. TestUnsupportedMDIsCurrent
// fails when the committed file differs; regenerate with
// `go generate ./config` (or `make docs`).
func Markdown() []byte {
	var b bytes.Buffer
	w := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	w("<!-- Generated from config/table.go by `go generate ./config`; DO NOT EDIT. -->\n\n")
	w("# What urun does with each config.json field\n\n")
	w("Every field of the OCI runtime-spec config for Linux (runtime-spec %s) is **honoured**, **ignored** ", MaxVersion)
	w("(skipped, with a debug log line naming its JSON path) or **refused** (`urun create` fails before anything is created, ")
	w("naming the JSON path, e.g. `urun create c1: config.json: linux.timeOffsets: needs a time namespace, which urun does not create; the clocks would silently differ (see unsupported.md)`). ")
	w("This file, the check `urun create` runs and the `urun features` document all come from one table, `config/table.go`.\n\n")
	w("Values are checked too, not only presence: an unknown capability (`CAP_TEST`), rlimit type (`RLIMIT_TEST`) or mount option, ")
	w("a duplicate rlimit or namespace type, a umask above 0777, a relative path are refused naming the JSON path and the value.\n\n")
	w("To see what was ignored: `urun --debug --log FILE --log-format json create ...`; each ignored field is one JSON line ")
	w("with `\"field\"` set to its path and `\"msg\"` starting with `ignored:`.\n\n")

	w("## urun is not a sandbox against its own user\n\n")
	w("urun exists to run build steps (buildah RUN) without privilege. The container runs as the calling account, ")
	w("seen as root only inside its own user namespace. There is **no PID namespace**: the container sees the host's processes ")
	w("(`ps`, `/proc`) and can signal the account's own. It shares the host's network, IPC, host name, cgroups and clocks, ")
	w("and no seccomp filter is installed. What protects the host is that the process is unprivileged there, nothing more. ")
	w("Do not use urun to contain code you would not run as that account.\n\n")
	w("**As real root** (uid 0 of the host, not inside a user namespace: how containerd and Docker call a runtime) ")
	w("the container's root is the host's uid 0: every root-owned file it can reach (bind mounts included) is its own, ")
	w("and with no PID namespace it can signal every root process on the host. urun logs a warning at create when it runs so. ")
	w("A remapping in the config (containerd's and Docker's userns remap, container 0 -> host 100000) is honoured instead: the container's root is then that host uid, and there is no warning.\n\n")

	w("## Namespaces\n\n")
	w("urun creates a **user** and a **mount** namespace, always, whether the config lists them or not. ")
	w("Requests for `pid`, `ipc`, `uts`, `network`, `cgroup` and `time` namespaces without a `path` are **ignored** (logged): ")
	w("buildah asks for pid, ipc and uts in every RUN step, and a build must not fail for it. ")
	w("A namespace the caller made and names by `path` is **joined** (joining is not creating): `network`, `ipc`, `uts`, `cgroup` and `pid` ")
	w("with setns before urun makes the container's user namespace (podman's default network and pods), `user` instead of making one. ")
	w("A path to the namespace urun already runs in means \"stay here\", for every type (docker --network=host, ctr --with-ns). ")
	w("An unknown type or one listed twice is **refused**.\n\n")

	w("## Where urun differs from ch-run-oci\n\n")
	w("ch-run-oci (Charliecloud) has the same aim and the same two namespaces. urun honours what it can do exactly without privilege; ")
	w("these are the fields ch-run-oci refuses or ignores and urun honours:\n\n")
	for _, f := range Table {
		if f.Disp == Honoured && (strings.HasPrefix(f.ChRun, chRefused) || strings.HasPrefix(f.ChRun, chIgnored)) {
			w("- `%s`: ch-run-oci %s; urun: %s.\n", f.Field, f.ChRun, escape(f.Reason))
		}
	}
	w("\nAnd where urun is stricter, refusing what ch-run-oci silently ignores (dropping it would change what the program sees):\n\n")
	for _, f := range Table {
		if f.Disp == Refused && strings.HasPrefix(f.ChRun, chIgnored) {
			w("- `%s`: %s.\n", f.Field, escape(f.Reason))
		}
	}
	w("\n")

	w("## Runtime operations\n\n")
	w("| Command | Disposition | What it does |\n|---|---|---|\n")
	for _, o := range Operations {
		w("| `urun %s` | %s | %s |\n", o.Name, o.Disp, escape(o.Reason))
	}
	w("\n")

	for _, sec := range []struct {
		d     Disposition
		title string
	}{
		{Refused, "Refused: create fails naming the field"},
		{Ignored, "Ignored: skipped, with a debug log line naming the field"},
		{Honoured, "Honoured"},
	} {
		w("## %s\n\n", sec.title)
		w("| Field | Why / how | ch-run-oci |\n|---|---|---|\n")
		for _, f := range Table {
			if f.Disp != sec.d {
				continue
			}
			ch := f.ChRun
			if ch == "" {
				ch = "not stated"
			}
			w("| `%s` | %s | %s |\n", f.Field, escape(f.Reason), escape(ch))
		}
		w("\n")
	}
	return b.Bytes()
}

func escape(s string) string {
	return strings.NewReplacer("|", `\|`, "*", `\*`, "_", `\_`).Replace(s)
}
