// The messages' encoding: hand-written, field after field, no reflection.
// The placeholder is a fresh process that decodes one message; encoding/json
// spent ~1 ms of its start building reflection tables for the plan's types
// before decoding 3.5 kB (bench/two-process.md). Both ends are the same
// binary (the placeholder is urun re-executed), so the layout needs no
// version and no field names: each type's encode and decode below list the
// same fields in the same order.
//
// Integers are varints, strings and slices a length then their content,
// a pointer a presence byte then its value. A slice of length 0 decodes as
// nil, as an omitempty JSON field did.
//
// Not carried, because nothing in the placeholder reads them (config.Check
// ignores or refuses them): process.commandLine, process.user.username,
// process.apparmorProfile, selinuxLabel, scheduler, ioPriority,
// execCPUAffinity, and mounts[].uidMappings and gidMappings. wire_test.go
// fails for any other field of the plan that is not carried.

package initproc

import (
	"encoding/binary"
	"errors"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"urun/plan"
)

// Msg is a message of the protocol: what WriteMsg sends and ReadMsg reads.
type Msg interface {
	encode(e *encoder)
	decode(d *decoder)
}

type encoder struct{ b []byte }

func (e *encoder) uint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *encoder) int(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *encoder) str(s string) {
	e.uint(uint64(len(s)))
	e.b = append(e.b, s...)
}

func (e *encoder) bool(v bool) {
	if v {
		e.b = append(e.b, 1)
	} else {
		e.b = append(e.b, 0)
	}
}

func (e *encoder) strs(s []string) {
	e.uint(uint64(len(s)))
	for _, v := range s {
		e.str(v)
	}
}

func (e *encoder) u32p(p *uint32) {
	e.bool(p != nil)
	if p != nil {
		e.uint(uint64(*p))
	}
}

func (e *encoder) intp(p *int) {
	e.bool(p != nil)
	if p != nil {
		e.int(int64(*p))
	}
}

// decoder reads what encoder wrote; the first error sticks and every read
// after it returns zero values.
type decoder struct {
	b   []byte
	err error
}

var errShort = errors.New("message truncated or malformed")

func (d *decoder) fail() {
	if d.err == nil {
		d.err = errShort
	}
	d.b = nil
}

func (d *decoder) uint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) int() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) u32() uint32 {
	v := d.uint()
	if v > 1<<32-1 {
		d.fail()
		return 0
	}
	return uint32(v)
}

func (d *decoder) str() string {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) bool() bool {
	if len(d.b) == 0 || d.b[0] > 1 {
		d.fail()
		return false
	}
	v := d.b[0] == 1
	d.b = d.b[1:]
	return v
}

// count reads a slice's length: every element takes at least a byte, so a
// length past what is left is malformed (and is not allocated).
func (d *decoder) count() int {
	n := d.uint()
	if n > uint64(len(d.b)) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) strs() []string {
	n := d.count()
	if n == 0 {
		return nil
	}
	s := make([]string, n)
	for i := range s {
		s[i] = d.str()
	}
	return s
}

func (d *decoder) u32p() *uint32 {
	if !d.bool() {
		return nil
	}
	v := d.u32()
	return &v
}

func (d *decoder) intp() *int {
	if !d.bool() {
		return nil
	}
	v := int(d.int())
	return &v
}

// encSlice and decSlice carry a slice of structs, one function per type.
func encSlice[T any](e *encoder, s []T, f func(*encoder, *T)) {
	e.uint(uint64(len(s)))
	for i := range s {
		f(e, &s[i])
	}
}

func decSlice[T any](d *decoder, f func(*decoder, *T)) []T {
	n := d.count()
	if n == 0 {
		return nil
	}
	s := make([]T, n)
	for i := range s {
		f(d, &s[i])
	}
	return s
}

// encPtr and decPtr carry an optional struct.
func encPtr[T any](e *encoder, p *T, f func(*encoder, *T)) {
	e.bool(p != nil)
	if p != nil {
		f(e, p)
	}
}

func decPtr[T any](d *decoder, f func(*decoder, *T)) *T {
	if !d.bool() {
		return nil
	}
	p := new(T)
	f(d, p)
	return p
}

// ---- Config ----

func (c *Config) encode(e *encoder) {
	encPtr(e, c.Plan, encPlan)
	e.str(c.Rootfs)
	e.str(c.BundleDir)
	encSlice(e, c.GIDs, encIDMapping)
	e.bool(c.Setgroups)
	e.bool(c.Park)
	e.int(int64(c.ListenFD))
	e.int(int64(c.FirstFD))
	e.int(int64(c.ActivationFDs))
	encPtr(e, c.HookState, encState)
	e.bool(c.Terminal)
}

func (c *Config) decode(d *decoder) {
	c.Plan = decPtr(d, decPlan)
	c.Rootfs = d.str()
	c.BundleDir = d.str()
	c.GIDs = decSlice(d, decIDMapping)
	c.Setgroups = d.bool()
	c.Park = d.bool()
	c.ListenFD = int(d.int())
	c.FirstFD = int(d.int())
	c.ActivationFDs = int(d.int())
	c.HookState = decPtr(d, decState)
	c.Terminal = d.bool()
}

func encPlan(e *encoder, p *plan.Plan) {
	encSlice(e, p.Steps, func(e *encoder, s *plan.Step) {
		e.str(string(s.Op))
		e.str(s.Name)
		e.int(int64(s.I))
	})
	encPtr(e, p.Spec, encSpec)
}

func decPlan(d *decoder, p *plan.Plan) {
	p.Steps = decSlice(d, func(d *decoder, s *plan.Step) {
		s.Op = plan.Op(d.str())
		s.Name = d.str()
		s.I = int(d.int())
	})
	p.Spec = decPtr(d, decSpec)
}

// encSpec carries the subset of the spec plan.Build keeps.
func encSpec(e *encoder, s *specs.Spec) {
	encPtr(e, s.Process, encProcess)
	encPtr(e, s.Root, func(e *encoder, r *specs.Root) {
		e.str(r.Path)
		e.bool(r.Readonly)
	})
	encSlice(e, s.Mounts, func(e *encoder, m *specs.Mount) {
		e.str(m.Destination)
		e.str(m.Type)
		e.str(m.Source)
		e.strs(m.Options)
	})
	encPtr(e, s.Hooks, encHooks)
	encPtr(e, s.Linux, func(e *encoder, l *specs.Linux) {
		e.strs(l.MaskedPaths)
		e.strs(l.ReadonlyPaths)
		e.str(l.RootfsPropagation)
		encSlice(e, l.Devices, encDevice)
	})
}

func decSpec(d *decoder, s *specs.Spec) {
	s.Process = decPtr(d, decProcess)
	s.Root = decPtr(d, func(d *decoder, r *specs.Root) {
		r.Path = d.str()
		r.Readonly = d.bool()
	})
	s.Mounts = decSlice(d, func(d *decoder, m *specs.Mount) {
		m.Destination = d.str()
		m.Type = d.str()
		m.Source = d.str()
		m.Options = d.strs()
	})
	s.Hooks = decPtr(d, decHooks)
	s.Linux = decPtr(d, func(d *decoder, l *specs.Linux) {
		l.MaskedPaths = d.strs()
		l.ReadonlyPaths = d.strs()
		l.RootfsPropagation = d.str()
		l.Devices = decSlice(d, decDevice)
	})
}

func encProcess(e *encoder, p *specs.Process) {
	e.bool(p.Terminal)
	encPtr(e, p.ConsoleSize, func(e *encoder, b *specs.Box) {
		e.uint(uint64(b.Height))
		e.uint(uint64(b.Width))
	})
	u := &p.User
	e.uint(uint64(u.UID))
	e.uint(uint64(u.GID))
	e.u32p(u.Umask)
	encSlice(e, u.AdditionalGids, func(e *encoder, g *uint32) { e.uint(uint64(*g)) })
	e.strs(p.Args)
	e.strs(p.Env)
	e.str(p.Cwd)
	encPtr(e, p.Capabilities, func(e *encoder, c *specs.LinuxCapabilities) {
		e.strs(c.Bounding)
		e.strs(c.Effective)
		e.strs(c.Inheritable)
		e.strs(c.Permitted)
		e.strs(c.Ambient)
	})
	encSlice(e, p.Rlimits, func(e *encoder, r *specs.POSIXRlimit) {
		e.str(r.Type)
		e.uint(r.Hard)
		e.uint(r.Soft)
	})
	e.bool(p.NoNewPrivileges)
	e.intp(p.OOMScoreAdj)
}

func decProcess(d *decoder, p *specs.Process) {
	p.Terminal = d.bool()
	p.ConsoleSize = decPtr(d, func(d *decoder, b *specs.Box) {
		b.Height = uint(d.uint())
		b.Width = uint(d.uint())
	})
	u := &p.User
	u.UID = d.u32()
	u.GID = d.u32()
	u.Umask = d.u32p()
	u.AdditionalGids = decSlice(d, func(d *decoder, g *uint32) { *g = d.u32() })
	p.Args = d.strs()
	p.Env = d.strs()
	p.Cwd = d.str()
	p.Capabilities = decPtr(d, func(d *decoder, c *specs.LinuxCapabilities) {
		c.Bounding = d.strs()
		c.Effective = d.strs()
		c.Inheritable = d.strs()
		c.Permitted = d.strs()
		c.Ambient = d.strs()
	})
	p.Rlimits = decSlice(d, func(d *decoder, r *specs.POSIXRlimit) {
		r.Type = d.str()
		r.Hard = d.uint()
		r.Soft = d.uint()
	})
	p.NoNewPrivileges = d.bool()
	p.OOMScoreAdj = d.intp()
}

func encHooks(e *encoder, h *specs.Hooks) {
	for _, l := range [...][]specs.Hook{h.Prestart, h.CreateRuntime, h.CreateContainer, h.StartContainer, h.Poststart, h.Poststop} {
		encSlice(e, l, func(e *encoder, k *specs.Hook) {
			e.str(k.Path)
			e.strs(k.Args)
			e.strs(k.Env)
			e.intp(k.Timeout)
		})
	}
}

func decHooks(d *decoder, h *specs.Hooks) {
	for _, l := range [...]*[]specs.Hook{&h.Prestart, &h.CreateRuntime, &h.CreateContainer, &h.StartContainer, &h.Poststart, &h.Poststop} {
		*l = decSlice(d, func(d *decoder, k *specs.Hook) {
			k.Path = d.str()
			k.Args = d.strs()
			k.Env = d.strs()
			k.Timeout = d.intp()
		})
	}
}

func encDevice(e *encoder, v *specs.LinuxDevice) {
	e.str(v.Path)
	e.str(v.Type)
	e.int(v.Major)
	e.int(v.Minor)
	e.u32p((*uint32)(v.FileMode))
	e.u32p(v.UID)
	e.u32p(v.GID)
}

func decDevice(d *decoder, v *specs.LinuxDevice) {
	v.Path = d.str()
	v.Type = d.str()
	v.Major = d.int()
	v.Minor = d.int()
	v.FileMode = (*os.FileMode)(d.u32p())
	v.UID = d.u32p()
	v.GID = d.u32p()
}

func encIDMapping(e *encoder, m *specs.LinuxIDMapping) {
	e.uint(uint64(m.ContainerID))
	e.uint(uint64(m.HostID))
	e.uint(uint64(m.Size))
}

func decIDMapping(d *decoder, m *specs.LinuxIDMapping) {
	m.ContainerID = d.u32()
	m.HostID = d.u32()
	m.Size = d.u32()
}

func encState(e *encoder, s *specs.State) {
	e.str(s.Version)
	e.str(s.ID)
	e.str(string(s.Status))
	e.int(int64(s.Pid))
	e.str(s.Bundle)
	e.uint(uint64(len(s.Annotations)))
	for k, v := range s.Annotations {
		e.str(k)
		e.str(v)
	}
}

func decState(d *decoder, s *specs.State) {
	s.Version = d.str()
	s.ID = d.str()
	s.Status = specs.ContainerState(d.str())
	s.Pid = int(d.int())
	s.Bundle = d.str()
	if n := d.count(); n > 0 {
		s.Annotations = make(map[string]string, n)
		for range n {
			k := d.str()
			s.Annotations[k] = d.str()
		}
	}
}

// ---- replies ----

func (r *Reply) encode(e *encoder) {
	e.str(r.Error)
	e.strs(r.Notes)
	e.bool(r.RuntimeHooks)
}

func (r *Reply) decode(d *decoder) {
	r.Error = d.str()
	r.Notes = d.strs()
	r.RuntimeHooks = d.bool()
}

func (r *JoinedReply) encode(e *encoder) {
	e.int(int64(r.Pid))
	e.str(r.Error)
	e.int(int64(r.Setns))
}

func (r *JoinedReply) decode(d *decoder) {
	r.Pid = int(d.int())
	r.Error = d.str()
	r.Setns = int(d.int())
}
