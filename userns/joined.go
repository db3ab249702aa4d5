package userns

import (
	"bytes"
	"os"
	"strconv"
)

// Joined is the mapping of the user namespace that process pid joined (a
// linux.namespaces path), as seen from urun's: nothing to write, only to
// check process.user against and to tell the placeholder.
func Joined(pid int) (*Mapping, error) {
	dir := "/proc/" + strconv.Itoa(pid) + "/"
	uids, err := readMap(dir + "uid_map")
	if err != nil {
		return nil, err
	}
	gids, err := readMap(dir + "gid_map")
	if err != nil {
		return nil, err
	}
	sg, _ := os.ReadFile(dir + "setgroups")
	return &Mapping{Mode: Join, UID: uids, GID: gids, Setgroups: !bytes.HasPrefix(sg, []byte("deny"))}, nil
}
