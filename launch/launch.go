// Package launch builds, in memory, the OCI config that `urun launch IMAGE
// -- CMD` runs: Charliecloud's ch-run front end on top of urun's runtime.
// Nothing is written per rank; the caller's environment, working
// directory and IDs are what an HPC user expects to find inside.
package launch

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Options are launch's command line plus the facts of the caller's
// process it copies (filled by Host, set directly in tests).
type Options struct {
	Image    string   // a rootfs directory, or a bundle directory with config.json
	Args     []string // the command
	Root     bool     // run as container root (0 -> the caller) instead of the caller's own IDs
	Env      []string // K=V set on top of the caller's environment
	UnsetEnv []string // names removed from it
	Binds    []string // SRC[:DST][:ro]
	NoHome   bool     // do not bind $HOME
	Write    bool     // the image is writable (default: read-only, so ranks can share it)

	// The caller's process.
	UID, GID uint32
	Cwd      string
	Environ  []string
}

// Host fills the caller's facts from this process.
func (o *Options) Host() error {
	o.UID, o.GID = uint32(os.Getuid()), uint32(os.Getgid())
	o.Environ = os.Environ()
	cwd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	o.Cwd = cwd
	return nil
}

// Config is the container to run: the config and the directory that
// stands for its bundle.
type Config struct {
	Dir  string
	Spec *specs.Spec
}

// Build makes the config. With a bundle, its config.json is the template
// (its mounts are kept, and the defaults added where it mounts nothing);
// with a rootfs directory, the defaults are the whole config.
func Build(o Options) (*Config, error) {
	if len(o.Args) == 0 {
		return nil, errors.New("no command given (urun launch IMAGE -- CMD [ARGS...])")
	}
	img, err := filepath.Abs(o.Image)
	if err != nil {
		return nil, fmt.Errorf("IMAGE %q: %w", o.Image, err)
	}
	st, err := os.Stat(img)
	if err != nil {
		return nil, fmt.Errorf("IMAGE %s: %w", img, pathErr(err))
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("IMAGE %s: not a directory (want a rootfs or a bundle directory)", img)
	}
	spec, err := template(img)
	if err != nil {
		return nil, err
	}
	if err := setProcess(spec, o); err != nil {
		return nil, err
	}
	binds, err := parseBinds(o.Binds)
	if err != nil {
		return nil, err
	}
	spec.Mounts = addDefaults(spec.Mounts, defaults(o, binds))
	return &Config{Dir: img, Spec: spec}, nil
}

// template is IMAGE/config.json when IMAGE is a bundle, else a minimal
// config whose root is IMAGE.
func template(img string) (*specs.Spec, error) {
	raw, err := os.ReadFile(filepath.Join(img, "config.json"))
	if errors.Is(err, os.ErrNotExist) {
		return &specs.Spec{
			Version: specs.Version,
			Root:    &specs.Root{Path: img},
			Process: &specs.Process{},
			Linux: &specs.Linux{
				Namespaces: []specs.LinuxNamespace{{Type: specs.UserNamespace}, {Type: specs.MountNamespace}},
			},
		}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("IMAGE %s: config.json: %w", img, pathErr(err))
	}
	var spec specs.Spec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return nil, fmt.Errorf("IMAGE %s: config.json: %w", img, err)
	}
	if spec.Process == nil {
		spec.Process = &specs.Process{}
	}
	if spec.Linux == nil {
		spec.Linux = &specs.Linux{}
	}
	if spec.Root == nil {
		return nil, fmt.Errorf("IMAGE %s: config.json: root.path: missing", img)
	}
	return &spec, nil
}

// setProcess makes the process the caller's: its command, environment,
// working directory and (unless --root) its own uid and gid, mapped to
// themselves so that what the rank sees (files, PMIx's peer check) is the
// account it runs as.
func setProcess(spec *specs.Spec, o Options) error {
	p := spec.Process
	p.Args = o.Args
	p.Terminal = false
	p.Cwd = o.Cwd
	env, err := environment(o.Environ, o.Env, o.UnsetEnv)
	if err != nil {
		return err
	}
	p.Env = env
	p.NoNewPrivileges = true
	if spec.Root != nil {
		spec.Root.Readonly = !o.Write
	}
	if o.Root {
		p.User = specs.User{UID: 0, GID: 0}
		spec.Linux.UIDMappings, spec.Linux.GIDMappings = nil, nil
		return nil
	}
	// The account's own IDs inside, no others: mpirun and PMIx refuse or
	// fail as root, and files written inside belong to the user outside.
	p.User = specs.User{UID: o.UID, GID: o.GID}
	p.Capabilities = nil
	spec.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: o.UID, HostID: o.UID, Size: 1}}
	spec.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: o.GID, HostID: o.GID, Size: 1}}
	return nil
}

// environment is the caller's environment with --env added and
// --unset-env removed, in the caller's order.
func environment(environ, set, unset []string) ([]string, error) {
	drop := map[string]bool{}
	for _, k := range unset {
		if k == "" || strings.Contains(k, "=") {
			return nil, fmt.Errorf("--unset-env %q: want a variable name", k)
		}
		drop[k] = true
	}
	var out []string
	index := map[string]int{}
	add := func(kv string) {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] {
			return
		}
		if i, ok := index[k]; ok {
			out[i] = kv
			return
		}
		index[k] = len(out)
		out = append(out, kv)
	}
	for _, kv := range environ {
		if strings.Contains(kv, "=") {
			add(kv)
		}
	}
	for _, kv := range set {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return nil, fmt.Errorf("--env %q: want NAME=VALUE", kv)
		}
		add(kv)
	}
	return out, nil
}

func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
