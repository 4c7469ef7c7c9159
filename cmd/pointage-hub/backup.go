package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"

	"pointage/hub/backup"
	"pointage/hub/db"
)

// backupCmd is `pointage-hub backup` (docs/DESIGN.md §13): an online,
// checked copy of every database of the data folder, while the hub runs
// or not.
func backupCmd() *cobra.Command {
	var dir, out string
	cmd := &cobra.Command{
		Use:   "backup --out FILE",
		Short: "Write a consistent, checked copy of every database of the data folder into FILE, while the hub runs or not",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir = dataDir(cmd, dir)
			if _, err := os.Stat(dir); err != nil {
				return fmt.Errorf("backup: the data folder %s: %w", dir, err)
			}
			start := time.Now()
			m, err := backup.Take(cmd.Context(), dir, out, backup.Options{HubVersion: version, Progress: progressTo(cmd)})
			if err != nil {
				return err
			}
			fi, err := os.Stat(out)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "backup written: %s (%s, %d databases, %s of databases) in %s\n",
				out, megabytes(fi.Size()), len(m.Files), megabytes(m.Size()), time.Since(start).Round(time.Millisecond))
			return nil
		},
	}
	dataDirFlag(cmd, &dir)
	cmd.Flags().StringVar(&out, "out", "", "the backup file to write (a .tar.gz; replaced if it exists)")
	cmd.MarkFlagRequired("out")
	return cmd
}

// restoreCmd is `pointage-hub restore FILE` (docs/DESIGN.md §13): checks
// the whole backup first, then puts its databases in the data folder.
func restoreCmd() *cobra.Command {
	var dir string
	var force bool
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Check a backup file, then restore its databases into the data folder (stopped hub; an empty folder unless --force)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir = dataDir(cmd, dir)
			start := time.Now()
			res, err := backup.Restore(cmd.Context(), args[0], dir, force, backup.Options{HubSchema: db.Hub.Version(), Progress: progressTo(cmd)})
			if errors.Is(err, backup.ErrNotEmpty) || errors.Is(err, backup.ErrLocked) {
				return err
			}
			if err != nil {
				return fmt.Errorf("%w; the data folder %s was not changed", err, dir)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "restored %s into %s: %d databases, %s, taken %s by hub %s, in %s\n",
				args[0], dir, len(res.Manifest.Files), megabytes(res.Manifest.Size()),
				res.Manifest.CreatedAt.Local().Format("2006-01-02 15:04:05"), res.Manifest.HubVersion, time.Since(start).Round(time.Millisecond))
			if res.MovedTo != "" {
				fmt.Fprintf(w, "the folder's previous databases are in %s (delete them once the restored hub is checked)\n", res.MovedTo)
			}
			fmt.Fprintln(w, "start the hub: the agents send back what they hold that the backup lacks (the devices page shows them as recovering)")
			return nil
		},
	}
	dataDirFlag(cmd, &dir)
	cmd.Flags().BoolVar(&force, "force", false, "restore into a folder that holds databases, moving them into DIR/replaced-… first")
	return cmd
}

// progressTo reports a long command's steps on stderr.
func progressTo(cmd *cobra.Command) func(string) {
	return func(msg string) { fmt.Fprintln(cmd.ErrOrStderr(), msg) }
}

func megabytes(n int64) string {
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
