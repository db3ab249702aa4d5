package config

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The mirrors must follow runtime-spec: a field it adds and fastSpec lacks
// would be dropped without a word (and escape the refusal table).
func TestFastSpecMirrors(t *testing.T) {
	for _, m := range []struct{ mirror, real reflect.Type }{
		{reflect.TypeFor[fastSpec](), reflect.TypeFor[specs.Spec]()},
		{reflect.TypeFor[fastLinux](), reflect.TypeFor[specs.Linux]()},
	} {
		if m.mirror.NumField() != m.real.NumField() {
			t.Fatalf("%v has %d fields, %v %d", m.mirror, m.mirror.NumField(), m.real, m.real.NumField())
		}
		for i := range m.real.NumField() {
			mf, rf := m.mirror.Field(i), m.real.Field(i)
			if mf.Name != rf.Name || mf.Tag.Get("json") != rf.Tag.Get("json") {
				t.Errorf("%v field %d: %s %q, %v has %s %q", m.mirror, i, mf.Name, mf.Tag.Get("json"), m.real, rf.Name, rf.Tag.Get("json"))
				continue
			}
			typ := mf.Type
			if strings.HasPrefix(typ.Name(), "lazy[") {
				typ = typ.Field(0).Type
			}
			if typ != rf.Type && !(rf.Name == "Linux" && typ == reflect.TypeFor[*fastLinux]()) {
				t.Errorf("%v.%s: %v, %v has %v", m.mirror, mf.Name, typ, m.real, rf.Type)
			}
		}
	}
}

// fill sets every field reachable from v to a non-zero value.
func fill(v reflect.Value, depth int) {
	if depth > 8 {
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), depth+1)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				fill(v.Field(i), depth+1)
			}
		}
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 1, 1))
		fill(v.Index(0), depth+1)
	case reflect.Map:
		k, e := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
		fill(k, depth+1)
		fill(e, depth+1)
		v.Set(reflect.MakeMap(v.Type()))
		v.SetMapIndex(k, e)
	case reflect.String:
		v.SetString("s")
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		v.SetInt(1)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(1)
	case reflect.Float32, reflect.Float64:
		v.SetFloat(1)
	}
}

// What Parse decodes is what a plain decode into specs.Spec gives: the
// checks and the plan see every field, however the JSON spells it.
func TestFastSpecEqualsPlain(t *testing.T) {
	var full specs.Spec
	fill(reflect.ValueOf(&full).Elem(), 0)
	fullJSON, err := json.Marshal(&full)
	if err != nil {
		t.Fatal(err)
	}
	inputs := map[string]string{
		"every field set": string(fullJSON),
		"nulls":           `{"linux":{"resources":null,"seccomp":null,"netDevices":null},"windows":null,"vm":null}`,
		"empty objects":   `{"linux":{"resources":{},"seccomp":{},"timeOffsets":{}},"windows":{},"freebsd":{}}`,
		// encoding/json decodes a repeated key into what the first filled,
		// and matches keys case-insensitively.
		"repeated keys": `{"linux":{"resources":{"pids":{"limit":5}},"resources":{"memory":{"limit":7}},` +
			`"netDevices":{"a":{"name":"x"}},"netDevices":{"b":{"name":"y"}}},"linux":{"intelRdt":{"closID":"c"}},` +
			`"windows":{"layerFolders":["l"]},"windows":{"hyperv":{}}}`,
		"null after value": `{"linux":{"resources":{"pids":{"limit":5}},"resources":null},"vm":{"kernel":{"path":"k"}},"vm":null}`,
		"key case":         `{"LINUX":{"Resources":{"pids":{"limit":5}},"SECCOMP":{"defaultAction":"SCMP_ACT_ERRNO"}},"Windows":{}}`,
		"full file":        goodConfig,
	}
	for name, in := range inputs {
		var plain specs.Spec
		if err := json.Unmarshal([]byte(in), &plain); err != nil {
			t.Fatalf("%s: plain decode: %v", name, err)
		}
		var fast fastSpec
		if err := json.Unmarshal([]byte(in), &fast); err != nil {
			t.Fatalf("%s: fast decode: %v", name, err)
		}
		if got := fast.spec(); !reflect.DeepEqual(got, &plain) {
			g, _ := json.Marshal(got)
			w, _ := json.Marshal(&plain)
			t.Errorf("%s:\n got %s\nwant %s", name, g, w)
		}
	}
}

// Errors inside a lazily decoded part read as the plain decode's.
func TestParseErrorsInLazyParts(t *testing.T) {
	head := `{"ociVersion":"1.0.0","process":{"args":["x"]},"root":{"path":"r"},`
	for _, tt := range []struct{ in, err string }{
		{head + `"linux":{"resources":{"memory":{"limit":"x"}}}}`, "linux.resources.memory.limit: expected int64, got JSON string"},
		{head + `"linux":{"resources":5}}`, "linux.resources: expected specs.LinuxResources, got JSON number"},
		{head + `"windows":{"layerFolders":[1]}}`, "windows.layerFolders: expected string, got JSON number"},
		// the first type error in the document is the one named
		{head + `"hostname":1,"linux":{"seccomp":{"defaultAction":2}}}`, "hostname: expected string, got JSON number"},
		{head + `"linux":{"seccomp":{"defaultAction":2}},"hostname":1}`, "linux.seccomp.defaultAction: expected specs.LinuxSeccompAction, got JSON number"},
	} {
		_, err := Parse([]byte(tt.in))
		if err == nil || err.Error() != tt.err {
			t.Errorf("Parse(%s):\n got %v\nwant %s", tt.in, err, tt.err)
		}
	}
}
