package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"pointage/agent"
	"pointage/hub/roster"
	"pointage/internal/civil"
	"pointage/internal/scansim"
)

// The readers of every school's device, in agent.Config order.
const (
	readerCanteen  = iota // entree: rdm6300
	readerGarderie        // porte-garderie: line-hex
	readerStaff           // pointeuse: wiegand26-ascii or line-hex
	nReaders
)

// planned is one badge presented to a reader at a simulated time of day.
type planned struct {
	at     time.Duration
	reader int
	badge  string
	held   bool // the card stays on the reader: the frame repeats
}

func hm(h, m int) time.Duration { return time.Duration(h)*time.Hour + time.Duration(m)*time.Minute }

func within(r *rand.Rand, from, span time.Duration) time.Duration {
	return from + time.Duration(r.Int64N(int64(span)))
}

// The incidents of every day.
var (
	unplugSchool, unplugReader, unplugAt = 1, readerGarderie, hm(16, 10) // for a minute of real time
	cutSchool, cutFrom, cutTo            = 2, hm(11, 20), hm(12, 20)     // the device loses the hub for an hour
	unknownAt                            = hm(11, 40)
)

// planDay returns what school si's readers see on the n-th school day.
func planDay(s *school, si, n int, day civil.Date) []planned {
	r := rand.New(rand.NewPCG(uint64(n), uint64(si)))
	var out []planned
	add := func(at time.Duration, reader int, badge string) *planned {
		out = append(out, planned{at: at, reader: reader, badge: badge})
		return &out[len(out)-1]
	}
	// staff clock in from 06:00, out from 16:00
	for _, p := range s.staff {
		add(within(r, hm(5, 55), 105*time.Minute), readerStaff, p.Match.Badge)
		add(within(r, hm(16, 0), 115*time.Minute), readerStaff, p.Match.Badge)
	}
	var eaters []int
	for _, p := range s.children {
		if p.Garderie&roster.GarderieMatin != 0 && r.IntN(100) < 85 {
			add(within(r, hm(6, 0), 85*time.Minute), readerGarderie, p.Match.Badge)
		}
		enrolled := p.CanteenDays.Has(day.Weekday())
		if (enrolled && r.IntN(100) < 93) || (!enrolled && r.IntN(100) < 3) {
			// by class: CP first, CM2 last
			ci := 0
			for j, c := range classes {
				if c == p.Class {
					ci = j
				}
			}
			add(within(r, hm(11, 0)+time.Duration(ci)*18*time.Minute, 18*time.Minute), readerCanteen, p.Match.Badge)
			eaters = append(eaters, len(out)-1)
		}
		if p.Garderie&roster.GarderieSoir != 0 && r.IntN(100) < 85 {
			add(within(r, hm(15, 0), 40*time.Minute), readerGarderie, p.Match.Badge)
			if r.IntN(100) < 8 { // picked up late
				add(within(r, hm(17, 47), 18*time.Minute), readerGarderie, p.Match.Badge)
			} else {
				add(within(r, hm(16, 0), 100*time.Minute), readerGarderie, p.Match.Badge)
			}
		}
	}
	// a few children hold their card on the reader; a few come back for a
	// second scan a few minutes later (a duplicate)
	for k := 0; k < 4 && len(eaters) > 4; k++ {
		e := out[eaters[r.IntN(len(eaters))]]
		if k < 2 {
			out[eaters[r.IntN(len(eaters))]].held = true
		} else {
			add(e.at+within(r, 6*time.Minute, 4*time.Minute), readerCanteen, e.badge)
		}
	}
	// a card not in the roster yet (a child who just arrived)
	if n%3 == si || si == 0 {
		add(unknownAt+time.Duration(si)*time.Minute, readerCanteen, fmt.Sprintf("%04X%06X", 0x0A0F, 0xE00000+n*16+si))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].at < out[j].at })
	return out
}

// frame encodes a badge for the profile of a school's reader.
func (s *school) frame(reader int, badge string) ([]byte, error) {
	profile := map[int]string{readerCanteen: "rdm6300", readerGarderie: "line-hex", readerStaff: s.staffProfile}[reader]
	return scansim.Encode(profile, badge)
}

// player plays one school's days on its readers.
type player struct {
	s        *school
	si       int
	days     int // 0: every day
	clock    *simClock
	links    [nReaders]*scansim.Symlink
	agent    *agent.Agent
	cut      *cutter
	debounce time.Duration
	step     time.Duration
	logf     func(format string, args ...any)
}

func (p *player) run(ctx context.Context) {
	tick := time.NewTicker(p.step)
	defer tick.Stop()
	n, plan, next := -1, [nReaders][]planned{}, [nReaders]int{}
	var unplugged, replugged, waitReconnect, cutDone, restored bool
	var replugAt time.Duration
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		day, tod := p.clock.position()
		if day != n { // a new day
			// Badges of the day that ended and not yet presented (the player
			// fell behind: a loaded machine) are presented now, never
			// dropped: every planned scan reaches a reader.
			for ri := range nReaders {
				for ; n >= 0 && next[ri] < len(plan[ri]) && p.links[ri].PTY() != nil; next[ri]++ {
					p.present(ri, plan[ri][next[ri]])
				}
			}
			n = day
			if p.days > 0 && n >= p.days {
				if p.cut != nil {
					p.cut.restore()
				}
				return
			}
			plan, next = [nReaders][]planned{}, [nReaders]int{}
			for _, x := range planDay(p.s, p.si, n, p.clock.day(n)) {
				plan[x.reader] = append(plan[x.reader], x)
			}
			unplugged, replugged, waitReconnect, cutDone, restored = false, false, false, false, false
			if p.cut != nil && p.cut.isDown() {
				p.cut.restore()
			}
		}
		// incidents
		if p.si == unplugSchool && !unplugged && tod >= unplugAt {
			unplugged = true
			replugAt = p.clock.simAfter(unplugAt, p.clock.scaled(time.Minute))
			p.links[unplugReader].Unplug()
			p.logf("%s : lecteur %s débranché", p.s.site, readerNames[unplugReader])
		}
		if unplugged && !replugged && tod >= replugAt {
			replugged, waitReconnect = true, true
			if _, err := p.links[unplugReader].Replug(); err != nil {
				p.logf("%s : rebrancher le lecteur : %v", p.s.site, err)
			} else {
				p.logf("%s : lecteur %s rebranché (nouveau port %s)", p.s.site, readerNames[unplugReader], p.links[unplugReader].PTY().Path())
			}
		}
		if p.cut != nil && !cutDone && tod >= cutFrom && tod < cutTo {
			cutDone = true
			p.cut.cut()
			p.logf("%s : le boîtier %s perd le réseau (ses lecteurs continuent, il garde les passages)", p.s.site, p.s.device)
		}
		if p.cut != nil && cutDone && !restored && tod >= cutTo {
			restored = true
			p.cut.restore()
			p.logf("%s : réseau rétabli, le boîtier %s rattrape son retard", p.s.site, p.s.device)
		}
		for ri := range nReaders {
			if !p.readerUp(ctx, ri, &waitReconnect) {
				continue
			}
			for next[ri] < len(plan[ri]) && plan[ri][next[ri]].at <= tod {
				x := plan[ri][next[ri]]
				next[ri]++
				p.present(ri, x)
			}
		}
	}
}

// readerUp reports whether a reader can be read: plugged in, and after a
// replug, opened again by the agent (the badges presented meanwhile wait,
// as the children and parents would, and are read then).
func (p *player) readerUp(ctx context.Context, ri int, waitReconnect *bool) bool {
	if p.links[ri].PTY() == nil {
		return false
	}
	if ri != unplugReader || !*waitReconnect {
		return true
	}
	st, err := p.agent.Status(ctx, "")
	if err != nil || len(st.Readers) <= ri || !st.Readers[ri].Connected {
		return false
	}
	*waitReconnect = false
	return true
}

func (p *player) present(ri int, x planned) {
	b, err := p.s.frame(ri, x.badge)
	if err != nil {
		p.logf("%s : %v", p.s.site, err)
		return
	}
	pty := p.links[ri].PTY()
	pty.Write(b)
	if x.held { // the reader repeats the frame; the agent's debounce drops it
		time.Sleep(min(150*time.Millisecond, p.debounce/3))
		pty.Write(b)
	}
}

var readerNames = [nReaders]string{"entree", "porte-garderie", "pointeuse"}
