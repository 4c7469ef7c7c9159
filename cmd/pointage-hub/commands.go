package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"pointage/demo"
	"pointage/hub"
	"pointage/hub/audit"
	"pointage/hub/auth"
	"pointage/hub/devices"
	"pointage/hub/export"
	"pointage/hub/roster"
	"pointage/hub/users"
	"pointage/internal/civil"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:          "pointage-hub",
		Short:        "The pointage hub: broker, ingest, counts, dashboard and exports",
		Version:      version,
		SilenceUsage: true,
	}
	root.AddCommand(runCmd(), demoCmd(), devicesCmd(), usersCmd(), rosterCmd(), brokerConfigCmd(), exportCmd(), auditCmd(), personDataCmd(), retentionCmd(), backupCmd(), restoreCmd())
	return root
}

func runCmd() *cobra.Command {
	var cfg hub.Config
	var configFile string
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run the hub (embedded broker on :1883, SQLite in ./data, HTTP on :8080 by default)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyPrecedence(cmd, &cfg, configFile); err != nil {
				return err
			}
			log := newLogger(cfg.LogLevel, cfg.LogFormat)
			h, err := hub.New(cmd.Context(), cfg, hub.Options{Logger: log, Version: version})
			if err != nil {
				return err
			}
			if n := cfg.MemoryLimitBytes(); n > 0 {
				debug.SetMemoryLimit(n)
				log.Info("memory limit set", "bytes", n)
			}
			return h.Run(cmd.Context())
		},
	}
	hubFlags(cmd.Flags(), &cfg, &configFile)
	return cmd
}

func demoCmd() *cobra.Command {
	var cfg hub.Config
	var configFile string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a simulated school through a real agent and the embedded broker",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := applyPrecedence(cmd, &cfg, configFile); err != nil {
				return err
			}
			return demo.Run(cmd.Context(), demo.Options{MQTTListen: cfg.MQTTListen, Listen: cfg.Listen, DataDir: demoDataDir(cmd, cfg), Out: cmd.OutOrStdout()})
		},
	}
	hubFlags(cmd.Flags(), &cfg, &configFile)
	return cmd
}

// demoDataDir is the demo's data folder: a temporary one unless given.
func demoDataDir(cmd *cobra.Command, cfg hub.Config) string {
	if cmd.Flags().Changed("data-dir") || os.Getenv("POINTAGE_DATA_DIR") != "" {
		return cfg.DataDir
	}
	return ""
}

func dataDirFlag(cmd *cobra.Command, dir *string) {
	cmd.Flags().StringVar(dir, "data-dir", hub.Defaults().DataDir, "folder of the hub's databases; env POINTAGE_DATA_DIR")
}

// dataDir applies POINTAGE_DATA_DIR when --data-dir is not given.
func dataDir(cmd *cobra.Command, dir string) string {
	if !cmd.Flags().Changed("data-dir") {
		if v := os.Getenv("POINTAGE_DATA_DIR"); v != "" {
			return v
		}
	}
	return dir
}

// openHubDB opens the hub's state in the command's data folder, hub.db
// only (devices, users, roster): the commands given --data-dir alone.
func openHubDB(cmd *cobra.Command, dir string) (*hub.State, error) {
	cfg := hub.Defaults()
	cfg.DataDir = dataDir(cmd, dir)
	return hub.OpenState(cmd.Context(), cfg, hub.StateOptions{HubDBOnly: true})
}

// stdinPassword is the password of --password-stdin ("" without it: the
// command generates one).
func stdinPassword(cmd *cobra.Command, fromStdin bool) (string, error) {
	if !fromStdin {
		return "", nil
	}
	return readPasswordLine(cmd.InOrStdin())
}

// withRegistry runs f on the device registry of the command's data folder.
func withRegistry(cmd *cobra.Command, dir string, f func(*devices.Registry) error) error {
	st, err := openHubDB(cmd, dir)
	if err != nil {
		return err
	}
	defer st.Close()
	return f(st.Devices)
}

// readPasswordLine reads the first line of r; its newline is not part of it.
func readPasswordLine(r io.Reader) (string, error) {
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read the password from standard input: %w", err)
	}
	line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if line == "" {
		return "", errors.New("--password-stdin: standard input holds no password")
	}
	return line, nil
}

func devicesCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "devices", Short: "Register school devices (MQTT identity of the agents)"}
	var dir string
	var fromStdin bool
	add := &cobra.Command{
		Use:   "add SITE DEVICE",
		Short: "Register a device; prints a generated password once unless --password-stdin, and its enrolment code (valid 7 days, usable once)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := stdinPassword(cmd, fromStdin)
			if err != nil {
				return err
			}
			return withRegistry(cmd, dir, func(reg *devices.Registry) error {
				c, err := reg.Enrol(cmd.Context(), args[0], args[1], password)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "device %s registered for site %s\n", c.Device.ID, c.Device.Site)
				showDevicePassword(cmd, c.Password, fromStdin)
				showEnrolmentCode(cmd, c)
				return nil
			})
		},
	}
	dataDirFlag(add, &dir)
	add.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password from the first line of standard input")
	list := &cobra.Command{
		Use:   "list",
		Short: "List registered devices",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRegistry(cmd, dir, func(reg *devices.Registry) error {
				all, err := reg.List(cmd.Context())
				if err != nil {
					return err
				}
				tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "SITE\tDEVICE\tREGISTERED")
				for _, d := range all {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", d.Site, d.ID, d.CreatedAt.Local().Format("02/01/2006 15:04"))
				}
				return tw.Flush()
			})
		},
	}
	dataDirFlag(list, &dir)
	var pwFromStdin bool
	setPassword := &cobra.Command{
		Use:   "set-password DEVICE",
		Short: "Give a device a new password (prints a generated one once unless --password-stdin) and a new enrolment code; a running hub closes its open session",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := stdinPassword(cmd, pwFromStdin)
			if err != nil {
				return err
			}
			return withRegistry(cmd, dir, func(reg *devices.Registry) error {
				c, err := reg.Renew(cmd.Context(), args[0], password)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "device %s: new password set; a running hub closes its session within seconds\n", args[0])
				showDevicePassword(cmd, c.Password, pwFromStdin)
				showEnrolmentCode(cmd, c)
				return nil
			})
		},
	}
	dataDirFlag(setPassword, &dir)
	setPassword.Flags().BoolVar(&pwFromStdin, "password-stdin", false, "read the password from the first line of standard input")
	remove := &cobra.Command{
		Use:   "remove DEVICE",
		Short: "Unregister a device (stolen or retired): it can no longer log in, a running hub closes its session; its check-ins stay",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return withRegistry(cmd, dir, func(reg *devices.Registry) error {
				if err := reg.Remove(cmd.Context(), args[0]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "device %s removed; a running hub closes its session within seconds (an external broker: run broker-config again)\n", args[0])
				return nil
			})
		},
	}
	dataDirFlag(remove, &dir)
	cmd.AddCommand(add, list, setPassword, remove)
	return cmd
}

func rosterCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "roster", Short: "The roster of children and staff"}
	var dir, from, tz string
	imp := &cobra.Command{
		Use:   "import FILE.csv|FILE.xlsx",
		Short: "Import or update the roster: CSV (';' or ',') or an Excel workbook's first sheet, with the columns of docs/DESIGN.md §10",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			loc, err := time.LoadLocation(tz)
			if err != nil {
				return fmt.Errorf("--timezone: %w", err)
			}
			day, err := parseDay(from, loc)
			if err != nil {
				return err
			}
			st, err := openHubDB(cmd, dir)
			if err != nil {
				return err
			}
			defer st.Close()
			_, parsed, err := roster.ImportFile(cmd.Context(), st.Roster, args[0], day, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			if parsed != nil && len(parsed.Errors) > 0 {
				return fmt.Errorf("%d row(s) rejected (listed above); the other rows were imported", len(parsed.Errors))
			}
			return nil
		},
	}
	dataDirFlag(imp, &dir)
	imp.Flags().StringVar(&from, "from", "", "date (YYYY-MM-DD) from which changes to known people apply (default today)")
	imp.Flags().StringVar(&tz, "timezone", hub.Defaults().Timezone, "time zone of \"today\"")
	cmd.AddCommand(imp)
	return cmd
}

func brokerConfigCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "broker-config", Short: "Files for an external MQTT broker"}
	var dir, out string
	mosq := &cobra.Command{
		Use:   "mosquitto --out DIR",
		Short: "Write mosquitto's password and ACL files for the registered devices",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return withRegistry(cmd, dir, func(reg *devices.Registry) error {
				if err := reg.WriteMosquittoConfig(cmd.Context(), out); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s and %s\n", filepath.Join(out, "passwd"), filepath.Join(out, "acl"))
				return nil
			})
		},
	}
	dataDirFlag(mosq, &dir)
	mosq.Flags().StringVar(&out, "out", "", "folder to write passwd and acl into")
	_ = mosq.MarkFlagRequired("out")
	cmd.AddCommand(mosq)
	return cmd
}

// parseDay is --from: a YYYY-MM-DD date, or today in loc when empty.
func parseDay(s string, loc *time.Location) (civil.Date, error) {
	if s == "" {
		return civil.DateOf(time.Now().In(loc)), nil
	}
	d, err := civil.ParseDate(s)
	if err != nil {
		return civil.Date{}, fmt.Errorf("--from: %w", err)
	}
	return d, nil
}

func exportCmd() *cobra.Command {
	var cfg hub.Config
	var configFile, month, site, format, out string
	cmd := &cobra.Command{
		Use:       "export meals|garderie|staff --month YYYY-MM",
		Short:     "Monthly export for billing (meals, garderie) or payroll (staff), CSV for French Excel or XLSX",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"meals", "garderie", "staff"},
		RunE: func(cmd *cobra.Command, args []string) error {
			kind := export.Kind(args[0])
			if !kind.Valid() {
				return fmt.Errorf("%q: want meals, garderie or staff", args[0])
			}
			if !export.ValidFormat(format) {
				return fmt.Errorf("--format %q: want csv or xlsx", format)
			}
			st, err := openState(cmd, &cfg, configFile)
			if err != nil {
				return err
			}
			defer st.Close()
			stderr := cmd.ErrOrStderr()
			e, err := st.Days.Export(cmd.Context(), kind, month, site, func(done, total int) {
				fmt.Fprintf(stderr, "\rcounting day %d/%d", done, total)
			})
			fmt.Fprintln(stderr)
			if err != nil {
				return err
			}
			if out == "" {
				out = export.FileName(e, format)
			}
			f, err := os.Create(out)
			if err != nil {
				return err
			}
			err = export.WriteTo(f, format, e, func(done, total int) {
				fmt.Fprintf(stderr, "\rwriting row %d/%d", done, total)
			})
			fmt.Fprintln(stderr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				os.Remove(out)
				return err
			}
			recordCLI(cmd, st.Audit, audit.Export, string(kind)+" "+e.Month+" "+cmpOr(site, "all sites"), fmt.Sprintf("%s, %d rows, to %s", format, e.Len(), out))
			fmt.Fprintf(cmd.OutOrStdout(), "wrote %s (%d rows)\n", out, e.Len())
			return nil
		},
	}
	hubFlags(cmd.Flags(), &cfg, &configFile)
	cmd.Flags().StringVar(&month, "month", "", "the month, YYYY-MM")
	cmd.Flags().StringVar(&site, "site", "", "one site (default: every site)")
	cmd.Flags().StringVar(&format, "format", "csv", "csv (French Excel: ';', UTF-8 BOM) or xlsx")
	cmd.Flags().StringVar(&out, "out", "", "output file (default: pointage-<kind>-<month>[-<site>].<format>)")
	_ = cmd.MarkFlagRequired("month")
	return cmd
}

func usersCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "users", Short: "People who use the dashboard and the API (office, school, kitchen)"}
	var dir, role, site string
	var fromStdin bool
	add := &cobra.Command{
		Use:   "add NAME --role office|school|kitchen [--site S]",
		Short: "Add a user; prints a generated password once unless --password-stdin",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := userPassword(cmd, fromStdin)
			if err != nil {
				return err
			}
			st, err := openHubDB(cmd, dir)
			if err != nil {
				return err
			}
			defer st.Close()
			u, err := st.Users.Add(cmd.Context(), args[0], auth.Role(role), site, password) // Add validates it
			if err != nil {
				return err
			}
			recordCLI(cmd, st.Audit, audit.UserAdded, u.Name, "role "+string(u.Role)+", site "+dash(u.Site))
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "user %s added (role %s%s)\n", u.Name, u.Role, map[bool]string{true: ", site " + u.Site, false: ""}[u.Site != ""])
			if !fromStdin {
				fmt.Fprintf(out, "password: %s\n(shown once)\n", password)
			}
			return nil
		},
	}
	dataDirFlag(add, &dir)
	add.Flags().StringVar(&role, "role", "", "office (everything), school (its own site, names included) or kitchen (counts and diets, no names)")
	add.Flags().StringVar(&site, "site", "", "the site of a school user")
	add.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password (8 characters or more) from the first line of standard input")
	_ = add.MarkFlagRequired("role")
	list := &cobra.Command{
		Use:   "list",
		Short: "List users",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := openHubDB(cmd, dir)
			if err != nil {
				return err
			}
			defer st.Close()
			all, err := st.Users.List(cmd.Context())
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tSITE\tSTATE\tLAST LOGIN")
			for _, u := range all {
				state, last := "enabled", "-"
				if u.Disabled {
					state = "disabled"
				}
				if !u.LastLogin.IsZero() {
					last = u.LastLogin.Format(time.RFC3339)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, dash(u.Site), state, last)
			}
			return tw.Flush()
		},
	}
	dataDirFlag(list, &dir)
	setPassword := &cobra.Command{
		Use:   "set-password NAME [--password-stdin]",
		Short: "Give a user a new password (prints a generated one once unless --password-stdin); ends the user's sessions",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			password, err := userPassword(cmd, fromStdin)
			if err != nil {
				return err
			}
			u, err := changeUser(cmd, dir, args[0], users.Change{Password: &password})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "user %s: new password set; the user's sessions are ended\n", u.Name)
			if !fromStdin {
				fmt.Fprintf(cmd.OutOrStdout(), "password: %s\n(shown once)\n", password)
			}
			return nil
		},
	}
	dataDirFlag(setPassword, &dir)
	setPassword.Flags().BoolVar(&fromStdin, "password-stdin", false, "read the password (8 characters or more) from the first line of standard input")
	enabled := func(use, short string, disabled bool, done string) *cobra.Command {
		c := &cobra.Command{
			Use: use + " NAME", Short: short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				u, err := changeUser(cmd, dir, args[0], users.Change{Disabled: &disabled})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "user %s %s\n", u.Name, done)
				return nil
			},
		}
		dataDirFlag(c, &dir)
		return c
	}
	remove := &cobra.Command{
		Use:   "remove NAME",
		Short: "Remove a user and end its sessions (the last enabled office user cannot be removed)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openHubDB(cmd, dir)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := st.Users.Remove(cmd.Context(), args[0]); err != nil {
				return userError(err)
			}
			recordCLI(cmd, st.Audit, audit.UserRemoved, args[0], "")
			fmt.Fprintf(cmd.OutOrStdout(), "user %s removed; a running hub refuses it within 2 s\n", args[0])
			return nil
		},
	}
	dataDirFlag(remove, &dir)
	cmd.AddCommand(add, list, setPassword,
		enabled("disable", "Disable a user: it cannot log in, its sessions end (the last enabled office user cannot be disabled)", true, "disabled; its sessions are ended"),
		enabled("enable", "Enable a disabled user again", false, "enabled"),
		remove)
	return cmd
}

// userPassword is a user's new password: --password-stdin's, or one
// generated (printed once by the command).
func userPassword(cmd *cobra.Command, fromStdin bool) (string, error) {
	if !fromStdin {
		return users.GeneratePassword(), nil
	}
	return stdinPassword(cmd, true)
}

// changeUser applies ch to the user name of the command's data folder,
// and records it in the audit log.
func changeUser(cmd *cobra.Command, dir, name string, ch users.Change) (users.User, error) {
	st, err := openHubDB(cmd, dir)
	if err != nil {
		return users.User{}, err
	}
	defer st.Close()
	u, err := st.Users.Update(cmd.Context(), name, ch)
	if err != nil {
		return users.User{}, userError(err)
	}
	recordCLI(cmd, st.Audit, audit.UserChanged, u.Name, ch.Describe())
	return u, nil
}

// userError says what to do next about a refused change.
func userError(err error) error {
	switch {
	case errors.Is(err, users.ErrNotFound):
		return fmt.Errorf("%w (pointage-hub users list shows the users)", err)
	case errors.Is(err, users.ErrLastOffice):
		return fmt.Errorf("%w: add or enable another office user first", err)
	}
	return err
}

// showDevicePassword prints a generated device password, once (not when
// it was read from standard input).
func showDevicePassword(cmd *cobra.Command, pw string, fromStdin bool) {
	if !fromStdin {
		fmt.Fprintf(cmd.OutOrStdout(), "password: %s\n(shown once: put it in the agent's mqtt.password_file)\n", pw)
	}
}

// showEnrolmentCode prints the line of docs/DESIGN.md §14, then when it
// expires.
func showEnrolmentCode(cmd *cobra.Command, c devices.Credentials) {
	fmt.Fprintf(cmd.OutOrStdout(), "enrolment code: %s\n(valid until %s, usable once: pointage-agent enrol --code on the device)\n",
		c.Code, c.CodeExpires.Local().Format("02/01/2006 15:04"))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
