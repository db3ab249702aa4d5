// Package config reads a bundle's config.json and decides, field by field,
// what urun does with it: honour, ignore (with a debug line) or refuse.
package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"urun/failure"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Bundle is a loaded, validated bundle.
type Bundle struct {
	Dir    string // absolute bundle directory
	Rootfs string // absolute rootfs path
	Spec   *specs.Spec
	Raw    []byte // config.json as read; decoded once, into Spec
}

// Load reads DIR/config.json and checks what must hold before anything is
// created: JSON syntax, ociVersion, root.path, process.args.
func Load(dir string) (*Bundle, error) {
	b, err := Read(dir)
	if err != nil {
		return nil, err
	}
	if err := b.Decode(); err != nil {
		return nil, err
	}
	return b, nil
}

// Read is Load's cheap first half: the bundle directory and the bytes of
// its config.json, not yet decoded.
func Read(dir string) (*Bundle, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("bundle %q: %w", dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", abs, failure.Errno(err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("bundle %s: not a directory", abs)
	}
	path := filepath.Join(abs, "config.json")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, failure.Errno(err))
	}
	return &Bundle{Dir: abs, Raw: raw}, nil
}

// Decode is Load's second half: it parses Raw into Spec and checks it.
func (b *Bundle) Decode() error {
	path := filepath.Join(b.Dir, "config.json")
	spec, err := Parse(b.Raw)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	b.Spec = spec
	if err := b.checkRoot(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// MayMapIDs reports whether config.json might set linux.uidMappings or
// gidMappings, judged from its bytes before decoding. A false "true" only
// costs speed (create waits for the decode before starting the
// placeholder); a "false" is re-checked after decoding.
func (b *Bundle) MayMapIDs() bool {
	return bytes.Contains(bytes.ToLower(b.Raw), []byte("mappings"))
}

// Prime fills encoding/json's per-type caches for the types Parse decodes
// into: the first decode into a type builds its field tables for the whole
// type tree (see fastSpec). Verbs that decode a config.json run Prime on
// the other CPU at start-up, while the CLI is parsed and the container
// reserved, so Parse later finds the tables built. It decodes nothing the
// caller sees: the checked and executed Spec is still Parse's.
func Prime() {
	var spec fastSpec
	_ = json.Unmarshal([]byte("{}"), &spec)
}

// Parse decodes config.json, reporting syntax errors with line and column.
func Parse(raw []byte) (*specs.Spec, error) {
	var fast fastSpec
	var spec *specs.Spec
	end, err := decodeOne(raw, &fast)
	if err == nil {
		spec = fast.spec()
	} else { // the plain decode, for its error message (see fastSpec)
		spec = new(specs.Spec)
		end, err = decodeOne(raw, spec)
	}
	if err != nil {
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			line, col := position(raw, se.Offset)
			return nil, fmt.Errorf("invalid JSON at line %d column %d: %v", line, col, se)
		case errors.As(err, &te):
			return nil, fmt.Errorf("%s: expected %s, got JSON %s", te.Field, te.Type, te.Value)
		}
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	// The Decoder stops after the first value: anything but white space
	// after it would be silently dropped here and then surface deep in
	// create (the container process is handed a plan built from Spec).
	if rest := bytes.TrimLeft(raw[end:], " \t\r\n"); len(rest) > 0 {
		off := int64(len(raw) - len(rest))
		line, col := position(raw, off+1)
		return nil, fmt.Errorf("invalid JSON at line %d column %d (offset %d): %q after the top-level value", line, col, off, rest[:min(len(rest), 8)])
	}
	if err := CheckVersion(spec.Version); err != nil {
		return nil, err
	}
	if spec.Process == nil {
		return nil, errors.New("process: missing (urun needs a process to run)")
	}
	if len(spec.Process.Args) == 0 || spec.Process.Args[0] == "" {
		return nil, errors.New("process.args: empty (nothing to run)")
	}
	if spec.Root == nil || spec.Root.Path == "" {
		return nil, errors.New("root.path: missing")
	}
	return spec, nil
}

// decodeOne decodes the first JSON value of raw into v and returns the
// offset just after it.
func decodeOne(raw []byte, v any) (int64, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(v); err != nil {
		return 0, err
	}
	return dec.InputOffset(), nil
}

func (b *Bundle) checkRoot() error {
	root := b.Spec.Root.Path
	if !filepath.IsAbs(root) {
		root = filepath.Join(b.Dir, root)
	}
	// Resolve symlinks once so every later step works on the real directory.
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		return fmt.Errorf("root.path: %s: %w", root, failure.Errno(err))
	}
	st, err := os.Stat(real)
	if err != nil {
		return fmt.Errorf("root.path: %s: %w", root, failure.Errno(err))
	}
	if !st.IsDir() {
		return fmt.Errorf("root.path: %s: not a directory", root)
	}
	b.Rootfs = real
	return nil
}

// Supported ociVersion range: 1.0.0 up to the runtime-spec this binary was
// built with.
var (
	MinVersion = "1.0.0"
	MaxVersion = fmt.Sprintf("%d.%d.%d", specs.VersionMajor, specs.VersionMinor, specs.VersionPatch)
)

// CheckVersion accepts 1.0.x through the 1.x series urun was built against,
// with any pre-release suffix ("1.0.2-dev", buildah's).
func CheckVersion(v string) error {
	if v == "" {
		return errors.New("ociVersion: missing")
	}
	core := v
	if i := strings.IndexAny(core, "-+"); i >= 0 {
		core = core[:i]
	}
	parts := strings.Split(core, ".")
	nums := make([]int, 0, 3)
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 {
			nums = nil
			break
		}
		nums = append(nums, n)
	}
	if len(nums) != 3 {
		return fmt.Errorf("ociVersion: %q is not a version (want MAJOR.MINOR.PATCH)", v)
	}
	if nums[0] != specs.VersionMajor || nums[1] > specs.VersionMinor {
		return fmt.Errorf("ociVersion: %q is not supported (urun supports %s to %d.%d.x)", v, MinVersion, specs.VersionMajor, specs.VersionMinor)
	}
	return nil
}

// json.SyntaxError.Offset counts the offending byte, hence off-1.
func position(raw []byte, off int64) (line, col int) {
	line, col = 1, 1
	for i := int64(0); i < off-1 && i < int64(len(raw)); i++ {
		if raw[i] == '\n' {
			line++
			col = 1
		} else {
			col++
		}
	}
	return
}
