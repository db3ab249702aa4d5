package userns

import "strconv"

// Joined is the mapping of the user namespace that process pid joined (a
// linux.namespaces path), as seen from urun's: nothing to write, only to
// check process.user against and to tell the placeholder.
func Joined(pid int) (*Mapping, error) {
	return procMaps("/proc/"+strconv.Itoa(pid)+"/", Join)
}
