package backup

import (
	"errors"
	"fmt"
	"path/filepath"
)

// LockName is the run lock's file in the data folder.
const LockName = "hub.lock"

// ErrLocked is the error of LockDataDir on a folder a running hub holds.
var ErrLocked = errors.New("a hub is running on this data folder")

// LockDataDir takes the data folder's run lock (an advisory lock on
// DIR/hub.lock, released by the system when the process ends, even
// killed): `run` holds it while the hub runs, `restore` while it
// replaces the databases, so neither happens under the other. The
// commands that open hub.db beside a running hub (users, devices, backup)
// do not take it. unlock releases it.
func LockDataDir(dir string) (unlock func(), err error) {
	unlock, err = lockFile(filepath.Join(dir, LockName))
	if errors.Is(err, ErrLocked) {
		return nil, fmt.Errorf("%w (%s): stop it first", ErrLocked, dir)
	}
	if err != nil {
		return nil, fmt.Errorf("lock the data folder %s: %w", dir, err)
	}
	return unlock, nil
}
