package config

import (
	"encoding/json"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Why a mirror of specs.Spec: encoding/json, the first time it decodes
// into a struct type, builds field tables (and encoders) for that type's
// whole tree, whether or not the JSON holds those parts: ~0.9 ms for
// runtime-spec's, against ~0.1 ms for the decode itself, on the critical
// path of every `urun run`. fastSpec and fastLinux have specs.Spec's and
// specs.Linux's fields, same names, tags and order (TestFastSpecMirrors
// checks), but hold the large subtrees a config rarely has (resources,
// seccomp, the other platforms, ...) in lazy fields, whose types encoding/json
// does not look into. Each is decoded, with encoding/json into its real
// type, only when it appears in the JSON, at that point of the decode: the
// result is the specs.Spec a plain decode gives (TestFastSpecEqualsPlain),
// and any decode error sends Parse to the plain decode, for its message.

// lazy decodes a JSON value into T only if the value is present. Decoding
// into &v gives exactly a struct field's semantics: null sets a pointer or
// map to nil, an object fills the existing one or allocates, a repeated key
// decodes into what the first one filled.
type lazy[T any] struct{ v T }

func (l *lazy[T]) UnmarshalJSON(b []byte) error { return json.Unmarshal(b, &l.v) }

type fastSpec struct {
	Version     string               `json:"ociVersion"`
	Process     *specs.Process       `json:"process,omitempty"`
	Root        *specs.Root          `json:"root,omitempty"`
	Hostname    string               `json:"hostname,omitempty"`
	Domainname  string               `json:"domainname,omitempty"`
	Mounts      []specs.Mount        `json:"mounts,omitempty"`
	Hooks       *specs.Hooks         `json:"hooks,omitempty"`
	Annotations map[string]string    `json:"annotations,omitempty"`
	Linux       *fastLinux           `json:"linux,omitempty"`
	Solaris     lazy[*specs.Solaris] `json:"solaris,omitempty"`
	Windows     lazy[*specs.Windows] `json:"windows,omitempty"`
	VM          lazy[*specs.VM]      `json:"vm,omitempty"`
	ZOS         lazy[*specs.ZOS]     `json:"zos,omitempty"`
	FreeBSD     lazy[*specs.FreeBSD] `json:"freebsd,omitempty"`
}

type fastLinux struct {
	UIDMappings       []specs.LinuxIDMapping                 `json:"uidMappings,omitempty"`
	GIDMappings       []specs.LinuxIDMapping                 `json:"gidMappings,omitempty"`
	Sysctl            map[string]string                      `json:"sysctl,omitempty"`
	Resources         lazy[*specs.LinuxResources]            `json:"resources,omitempty"`
	CgroupsPath       string                                 `json:"cgroupsPath,omitempty"`
	Namespaces        []specs.LinuxNamespace                 `json:"namespaces,omitempty"`
	Devices           []specs.LinuxDevice                    `json:"devices,omitempty"`
	NetDevices        lazy[map[string]specs.LinuxNetDevice]  `json:"netDevices,omitempty"`
	Seccomp           lazy[*specs.LinuxSeccomp]              `json:"seccomp,omitempty"`
	RootfsPropagation string                                 `json:"rootfsPropagation,omitempty"`
	MaskedPaths       []string                               `json:"maskedPaths,omitempty"`
	ReadonlyPaths     []string                               `json:"readonlyPaths,omitempty"`
	MountLabel        string                                 `json:"mountLabel,omitempty"`
	IntelRdt          lazy[*specs.LinuxIntelRdt]             `json:"intelRdt,omitempty"`
	MemoryPolicy      lazy[*specs.LinuxMemoryPolicy]         `json:"memoryPolicy,omitempty"`
	Personality       lazy[*specs.LinuxPersonality]          `json:"personality,omitempty"`
	TimeOffsets       lazy[map[string]specs.LinuxTimeOffset] `json:"timeOffsets,omitempty"`
}

func (f *fastSpec) spec() *specs.Spec {
	s := &specs.Spec{
		Version:     f.Version,
		Process:     f.Process,
		Root:        f.Root,
		Hostname:    f.Hostname,
		Domainname:  f.Domainname,
		Mounts:      f.Mounts,
		Hooks:       f.Hooks,
		Annotations: f.Annotations,
		Solaris:     f.Solaris.v,
		Windows:     f.Windows.v,
		VM:          f.VM.v,
		ZOS:         f.ZOS.v,
		FreeBSD:     f.FreeBSD.v,
	}
	if l := f.Linux; l != nil {
		s.Linux = &specs.Linux{
			UIDMappings:       l.UIDMappings,
			GIDMappings:       l.GIDMappings,
			Sysctl:            l.Sysctl,
			Resources:         l.Resources.v,
			CgroupsPath:       l.CgroupsPath,
			Namespaces:        l.Namespaces,
			Devices:           l.Devices,
			NetDevices:        l.NetDevices.v,
			Seccomp:           l.Seccomp.v,
			RootfsPropagation: l.RootfsPropagation,
			MaskedPaths:       l.MaskedPaths,
			ReadonlyPaths:     l.ReadonlyPaths,
			MountLabel:        l.MountLabel,
			IntelRdt:          l.IntelRdt.v,
			MemoryPolicy:      l.MemoryPolicy.v,
			Personality:       l.Personality.v,
			TimeOffsets:       l.TimeOffsets.v,
		}
	}
	return s
}
