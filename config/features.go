package config

import (
	"encoding/json"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"

	"urun/mount"
)

// Annotation keys of the features document.
const (
	AnnotationDoc          = "io.github.urun.features"
	AnnotationNamespaces   = "io.github.urun.namespaces"
	AnnotationTerminal     = "io.github.urun.terminal"
	AnnotationRefused      = "io.github.urun.refused"
	AnnotationIgnored      = "io.github.urun.ignored"
	AnnotationOperations   = "io.github.urun.operations"
	AnnotationVerbsRefused = "io.github.urun.verbs.refused"
)

// Features is the OCI features document (runtime-spec features.md), derived
// from Table and the option lists the mount code uses.
func Features() *features.Features {
	return &features.Features{
		OCIVersionMin: MinVersion,
		OCIVersionMax: MaxVersion,
		Hooks:         hookNames(),
		MountOptions:  mount.KnownOptions(),
		Linux: &features.Linux{
			Namespaces:   namespaceNames(),
			Capabilities: allCapNames(),
			Cgroup:       &features.Cgroup{V1: ptr(false), V2: ptr(false), Systemd: ptr(false), SystemdUser: ptr(false), Rdma: ptr(false)},
			Seccomp:      &features.Seccomp{Enabled: ptr(false)},
			Apparmor:     &features.Apparmor{Enabled: ptr(false)},
			Selinux:      &features.Selinux{Enabled: ptr(false)},
			IntelRdt:     &features.IntelRdt{Enabled: ptr(false)},
			MountExtensions: &features.MountExtensions{
				IDMap: &features.IDMap{Enabled: ptr(false)},
			},
			NetDevices: &features.NetDevices{Enabled: ptr(false)},
		},
		Annotations: map[string]string{
			AnnotationDoc:          "every config.json field is honoured, ignored (logged at debug level) or refused: see unsupported.md in the urun source, generated from the same table as this document",
			AnnotationNamespaces:   "urun creates a user and a mount namespace only; pid, ipc, uts, network, cgroup and time requests without a path are ignored; network, ipc, uts, cgroup, pid and user namespaces given by path are joined; a path to urun's own namespace means stay in it",
			AnnotationTerminal:     Lookup("process.terminal").Reason,
			AnnotationRefused:      fieldsWith(Refused),
			AnnotationIgnored:      fieldsWith(Ignored),
			AnnotationOperations:   operationsWith(Honoured, "; "),
			AnnotationVerbsRefused: operationsWith(Refused, ", ") + ": urun manages no cgroups and uses no CRIU; each refuses with its reason and changes nothing",
		},
	}
}

// FeaturesJSON is `urun features` output, with the caller's annotations
// added. Unlike encoding the
// struct, it keeps an empty hooks list: features.md reads a missing list
// as "unknown", an empty one as "none supported".
func FeaturesJSON(annotations map[string]string) ([]byte, error) {
	f := Features()
	for k, v := range annotations {
		f.Annotations[k] = v
	}
	out, err := json.MarshalIndent(struct {
		*features.Features
		Hooks []string `json:"hooks"` // shadows the embedded omitempty field
	}{f, f.Hooks}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}

func ptr[T any](v T) *T { return &v }

// hookNames are the hook kinds urun honours.
func hookNames() []string {
	out := []string{}
	for _, f := range Table {
		if name, ok := strings.CutPrefix(f.Key, "hooks."); ok && f.Disp == Honoured {
			out = append(out, name)
		}
	}
	return out
}

// namespaceNames are the namespace types urun creates.
func namespaceNames() []string {
	var out []string
	for _, f := range Table {
		if name, ok := strings.CutPrefix(f.Key, "linux.namespaces."); ok && f.Disp == Honoured && !strings.HasPrefix(name, "path") {
			out = append(out, name)
		}
	}
	return out
}

// fieldsWith lists the rows' keys with disposition d, comma-separated.
func fieldsWith(d Disposition) string {
	return namesWith(Table, d, func(f Feature) (string, Disposition) { return f.Key, f.Disp }, ", ")
}

// namesWith joins the names of the rows with disposition d.
func namesWith[T any](rows []T, d Disposition, of func(T) (string, Disposition), sep string) string {
	var out []string
	for _, r := range rows {
		if name, disp := of(r); disp == d {
			out = append(out, name)
		}
	}
	return strings.Join(out, sep)
}

var _ = specs.Version // features follow the runtime-spec version urun is built against
