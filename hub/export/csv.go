package export

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"io"
)

// bom makes French Excel read the file as UTF-8 (without it, "Prénom"
// shows as "PrÃ©nom").
const bom = "\uFEFF"

// WriteCSV writes e as a CSV file for French Excel and billing software:
// UTF-8 with a byte-order mark, ';' separators, CRLF line ends, a French
// header row, days as dd/mm/yyyy, times as HH:MM in e.Loc, hours with a
// decimal comma, booleans as oui/non. Rows are sorted by day, site and
// name. A text cell that Excel would take for a formula (it starts with
// =, +, -, @, a tab or a carriage return) gets a leading apostrophe.
//
// progress, if not nil, is called every 5,000 rows and at the end.
func WriteCSV(w io.Writer, e Export, progress func(done, total int)) error {
	if err := validate(e); err != nil {
		return err
	}
	t := newTable(&e)
	idx := t.order(false)

	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(bom); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	cw := csv.NewWriter(bw)
	cw.Comma = ';'
	cw.UseCRLF = true

	record := make([]string, len(t.cols))
	for i, c := range t.cols {
		record[i] = c.header
	}
	if err := cw.Write(record); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	cells := make([]cell, len(t.cols))
	var f csvFormatter
	rep := reporter{fn: progress, total: len(idx)}
	for _, i := range idx {
		t.fill(int(i), cells)
		for j := range cells {
			record[j] = f.format(cells[j])
		}
		if err := cw.Write(record); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
		rep.row()
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	rep.end()
	return nil
}

// csvFormatter renders cells as French text. It remembers the last day it
// formatted: rows come sorted by day, so most dates cost nothing.
type csvFormatter struct {
	buf      []byte
	lastDate cell
	lastText string
}

func (f *csvFormatter) format(c cell) string {
	switch c.kind {
	case cText:
		return guard(c.s)
	case cLabel:
		return c.s
	case cDate:
		if f.lastDate.kind == cDate && f.lastDate.date == c.date {
			return f.lastText
		}
		f.lastDate, f.lastText = c, string(appendDate(f.buf[:0], c.date))
		return f.lastText
	case cClock:
		f.buf = appendClock(f.buf[:0], c.date, c.t)
		return string(f.buf)
	case cHours:
		return decimalHours(c.d)
	case cHHMM:
		return hoursMinutes(c.d)
	case cBool:
		return yesNo(c.b)
	}
	return ""
}

// guard defuses CSV formula injection (OWASP): names come from a roster
// file, and Excel runs "=HYPERLINK(…)" or "@SUM(…)" typed in a name. A
// leading apostrophe makes Excel show the text as it is.
func guard(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	return s
}
