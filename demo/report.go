package demo

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"pointage/agent"
	"pointage/hub"
	"pointage/hub/counts"
	"pointage/internal/wire"
)

var (
	joursFR = [...]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"}
	moisFR  = [...]string{"", "janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"}
)

func dateFR(t time.Time) string {
	return fmt.Sprintf("%s %d %s %d", joursFR[t.Weekday()], t.Day(), moisFR[t.Month()], t.Year())
}

// report prints, every few seconds, one line per school: what the hub
// counts for the simulated day and the state of the school's device.
func report(ctx context.Context, out io.Writer, every time.Duration, h *hub.Hub, clock *simClock, sc []*school, agents map[string]*agent.Agent) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		now := clock.Now()
		day := h.Days().Today()
		d, err := h.Days().Compute(ctx, day, "")
		if err != nil {
			if ctx.Err() == nil {
				fmt.Fprintf(out, "%s  résumé indisponible : %v\n", now.Format("15:04"), err)
			}
			continue
		}
		state := map[string]string{}
		if sts, err := h.Ingest().DeviceStatuses(ctx); err == nil {
			for _, s := range sts {
				state[s.Device] = s.State
			}
		}
		var b strings.Builder
		fmt.Fprintf(&b, "── %s, %s ──\n", dateFR(now), now.Format("15:04"))
		for _, s := range sc {
			res, ok := d.Results[s.site]
			if !ok {
				continue
			}
			b.WriteString(summaryLine(ctx, s, res, state[s.device], agents[s.site]))
			b.WriteByte('\n')
		}
		io.WriteString(out, b.String())
	}
}

func summaryLine(ctx context.Context, s *school, r counts.Result, state string, a *agent.Agent) string {
	c := r.Canteen
	line := fmt.Sprintf("  %-14s repas servis %3d / %3d prévus (sans-porc %d, végétarien %d, PAI %d ; doublons %d, inconnus %d)",
		s.site, c.Meals, c.Expected, c.ByRegime["sans-porc"], c.ByRegime["vegetarien"], c.ByRegime["pai"], c.Duplicates, c.UnknownBadges)
	m, so := r.Garderie[counts.SessionMatin], r.Garderie[counts.SessionSoir]
	late := 0
	if so.Late != nil {
		late = *so.Late
	}
	line += fmt.Sprintf(" | garderie matin %d enfants, soir %d présents / %d (%d en retard)", m.Children, so.Present, so.Children, late)
	line += fmt.Sprintf(" | agents présents %d/%d", r.Staff.Present, len(s.staff))
	switch state {
	case wire.StateOnline:
		line += " | boîtier en ligne"
	case wire.StateOffline:
		line += " | boîtier HORS LIGNE"
	default:
		line += " | boîtier ?"
	}
	if a != nil {
		if st, err := a.Status(ctx, ""); err == nil {
			conn := 0
			for _, rs := range st.Readers {
				if rs.Connected {
					conn++
				}
			}
			line += fmt.Sprintf(", %d en attente, lecteurs %d/%d", st.OutboxPending, conn, len(st.Readers))
		}
	}
	return line
}
