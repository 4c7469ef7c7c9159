package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/user"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"pointage/hub"
	"pointage/hub/audit"
	"pointage/hub/days"
	"pointage/hub/retention"
	"pointage/internal/civil"
)

// openState applies the configuration's precedence and opens the hub's
// state, for the commands that run beside a hub (export, audit,
// person-data, retention).
func openState(cmd *cobra.Command, cfg *hub.Config, configFile string) (*hub.State, error) {
	if err := applyPrecedence(cmd, cfg, configFile); err != nil {
		return nil, err
	}
	return hub.OpenState(cmd.Context(), *cfg, hub.StateOptions{})
}

// cliUser is who runs a command, for the audit log.
func cliUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	return "cli"
}

// recordCLI appends a command's action to the audit log; a failure is
// printed, the action is done.
func recordCLI(cmd *cobra.Command, log *audit.Log, action, target, detail string) {
	if _, err := log.Record(context.WithoutCancel(cmd.Context()), audit.Entry{User: cliUser(), Action: action, Target: target, Detail: detail, Addr: "cli"}); err != nil {
		fmt.Fprintf(cmd.ErrOrStderr(), "warning: could not write the audit log: %v\n", err)
	}
}

func auditCmd() *cobra.Command {
	var cfg hub.Config
	var configFile, userName, action, target, since string
	var limit int
	var verify, asJSON bool
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit log (logins, corrections, exports, views of a person's data), or --verify its chain",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openState(cmd, &cfg, configFile)
			if err != nil {
				return err
			}
			defer st.Close()
			out := cmd.OutOrStdout()
			if verify {
				n, err := st.Audit.Verify(cmd.Context())
				if err != nil {
					return fmt.Errorf("%w (%d entries hold before it); keep a copy of hub.db and tell whoever is responsible for the hub's security", err, n)
				}
				fmt.Fprintf(out, "audit log intact: %d entries, chain verified\n", n)
				return nil
			}
			f := audit.Filter{User: userName, Action: action, Target: target, Limit: limit}
			if since != "" {
				d, err := civil.ParseDate(since)
				if err != nil {
					return fmt.Errorf("--since %q: want YYYY-MM-DD", since)
				}
				f.From = d.In(time.UTC)
			}
			entries, err := st.Audit.List(cmd.Context(), f)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(entries)
			}
			tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tAT (UTC)\tUSER\tROLE\tACTION\tTARGET\tADDR\tDETAIL")
			for _, e := range entries {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.At.Format("2006-01-02 15:04:05"), e.User, e.Role, e.Action, e.Target, e.Addr, e.Detail)
			}
			return tw.Flush()
		},
	}
	hubFlags(cmd.Flags(), &cfg, &configFile)
	cmd.Flags().BoolVar(&verify, "verify", false, "check the hash chain: no entry changed or removed")
	cmd.Flags().StringVar(&userName, "user", "", "only this user")
	cmd.Flags().StringVar(&action, "action", "", "only this action (login, login_failed, logout, correction, export, view_child, export_child, purge)")
	cmd.Flags().StringVar(&target, "target", "", "only this target (a person id, a correction id)")
	cmd.Flags().StringVar(&since, "since", "", "from this day (YYYY-MM-DD, UTC)")
	cmd.Flags().IntVar(&limit, "limit", 200, "at most this many entries, newest first")
	cmd.Flags().BoolVar(&asJSON, "json", false, "JSON output")
	return cmd
}

func personDataCmd() *cobra.Command {
	var cfg hub.Config
	var configFile, from, to, out string
	cmd := &cobra.Command{
		Use:   "person-data PERSON_ID [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--out FILE]",
		Short: "Export everything held about one person (a family's access request, docs/PRIVACY.md) as JSON",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openState(cmd, &cfg, configFile)
			if err != nil {
				return err
			}
			defer st.Close()
			end := st.Days.Today()
			start := end.AddDays(-547) // 18 months: the default retention
			for _, p := range []struct {
				name, v string
				d       *civil.Date
			}{{"--from", from, &start}, {"--to", to, &end}} {
				if p.v == "" {
					continue
				}
				d, err := civil.ParseDate(p.v)
				if err != nil {
					return fmt.Errorf("%s %q: want YYYY-MM-DD", p.name, p.v)
				}
				*p.d = d
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "reading %s's data from %s to %s…\n", args[0], start, end)
			h, err := st.Days.PersonHistory(cmd.Context(), args[0], start, end)
			if err != nil {
				return err
			}
			if out == "" {
				out = fmt.Sprintf("pointage-%s-%s-%s.json", args[0], start, end)
			}
			months, err := st.Retention.PersonMonths(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			b, err := json.MarshalIndent(struct {
				*days.PersonHistory
				// MonthlyFigures are the months whose check-ins the retention
				// purged, as kept per person.
				MonthlyFigures []retention.PersonMonth `json:"monthly_figures"`
			}{h, months}, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(out, append(b, '\n'), 0o600); err != nil {
				return err
			}
			recordCLI(cmd, st.Audit, audit.ExportChild, args[0], fmt.Sprintf("%s to %s, %d check-ins, to %s", start, end, len(h.Events), out))
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d roster versions, %d check-ins, %d corrections)\n", out, len(h.Roster), len(h.Events), len(h.Corrections))
			return nil
		},
	}
	hubFlags(cmd.Flags(), &cfg, &configFile)
	cmd.Flags().StringVar(&from, "from", "", "first day (default: 18 months ago)")
	cmd.Flags().StringVar(&to, "to", "", "last day (default: today)")
	cmd.Flags().StringVar(&out, "out", "", "output file (default: pointage-<id>-<from>-<to>.json, readable by its owner only)")
	return cmd
}

func cmpOr(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

func retentionCmd() *cobra.Command {
	var cfg hub.Config
	var configFile string
	var dryRun bool
	cmd := &cobra.Command{
		Use:   "retention [--dry-run]",
		Short: "Apply the retention now: keep each old month's figures per person, purge its raw check-ins (the hub also does it daily)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openState(cmd, &cfg, configFile)
			if err != nil {
				return err
			}
			defer st.Close()
			stderr := cmd.ErrOrStderr()
			rep, err := st.Retention.Run(cmd.Context(), dryRun, func(month string) {
				fmt.Fprintf(stderr, "month %s: computing the figures to keep…\n", month)
			})
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if cfg.RetentionMonths < 0 {
				fmt.Fprintln(out, "retention off (--retention-months -1): nothing purged")
				return nil
			}
			if dryRun {
				fmt.Fprintf(out, "dry run: would keep the figures of %d month(s) %v, then purge every check-in before %s\n", len(rep.Months), rep.Months, rep.Cutoff)
				return nil
			}
			events := fmt.Sprint(rep.Events)
			if rep.Events < 0 {
				events = "all (InfluxDB does not count them)"
			}
			fmt.Fprintf(out, "kept the figures of %d month(s) %v (%d child rows, %d staff rows); purged before %s: %s check-ins, %d hub rows, %d corrections\n",
				len(rep.Months), rep.Months, rep.Children, rep.Staff, rep.Cutoff, events, rep.Received, rep.Corrected)
			return nil
		},
	}
	hubFlags(cmd.Flags(), &cfg, &configFile)
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "say what would be purged, change nothing")
	return cmd
}
