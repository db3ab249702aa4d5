package config

import (
	"sort"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// Features is the OCI features document, derived from Table and the option
// lists the checks use.
func Features() *features.Features {
	f := &features.Features{
		OCIVersionMin: MinVersion,
		OCIVersionMax: MaxVersion,
		Hooks:         []string{},
		MountOptions:  mountOptions(),
		Linux: &features.Linux{
			Namespaces:   []string{string(specs.UserNamespace), string(specs.MountNamespace)},
			Capabilities: capNames(),
			Cgroup:       &features.Cgroup{V1: ptr(false), V2: ptr(false), Systemd: ptr(false), SystemdUser: ptr(false)},
			Seccomp:      &features.Seccomp{Enabled: ptr(false)},
			Apparmor:     &features.Apparmor{Enabled: ptr(false)},
			Selinux:      &features.Selinux{Enabled: ptr(false)},
			IntelRdt:     &features.IntelRdt{Enabled: ptr(false)},
			MountExtensions: &features.MountExtensions{
				IDMap: &features.IDMap{Enabled: ptr(false)},
			},
		},
		Annotations: map[string]string{
			"io.github.urun.features":   "unsupported.md: every config field honoured, ignored or refused",
			"io.github.urun.namespaces": "urun creates user and mount namespaces only; pid, ipc, uts, network, cgroup and time requests are ignored; joins are refused",
		},
	}
	return f
}

func ptr[T any](v T) *T { return &v }

func capNames() []string {
	var out []string
	for _, n := range allCapNames() {
		out = append(out, n)
	}
	return out
}

func mountOptions() []string {
	opts := []string{"bind", "rbind"}
	for _, o := range strings.Fields("ro rw nosuid suid nodev dev noexec exec noatime atime nodiratime diratime relatime norelatime strictatime nostrictatime sync async dirsync mand nomand defaults private rprivate shared rshared slave rslave unbindable runbindable") {
		opts = append(opts, o)
	}
	sort.Strings(opts)
	return opts
}
