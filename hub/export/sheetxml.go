package export

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// The data sheets' rows are not given to excelize: it would keep every
// sheet's XML in memory until the workbook is written (each one below
// 16 MB, excelize's StreamChunkSize: 47 MB for a city's month of meals, on
// top of the rows). excelize writes each data sheet with its header row
// only; when the archive is written, the zip-writer hook finds the sheet's
// </sheetData> and renders the rows there, one at a time, straight into
// the compressed entry. The cells are written as excelize's StreamWriter
// writes them (TestDataSheetsAsExcelizeWritesThem compares the two).

// sheetDataEnd is where a data sheet's rows go: after the header row that
// excelize wrote, before the end of the sheet's data.
var sheetDataEnd = []byte("</sheetData>")

// rowsWriter renders the rows of one data sheet.
type rowsWriter func(w *bufio.Writer) error

// injector passes a sheet's XML through to w and writes the rows at the
// first </sheetData>. The marker may be cut between two writes: the bytes
// that could start it are held until the next write.
type injector struct {
	w     io.Writer
	rows  rowsWriter
	held  []byte
	done  bool
	wrote bool // the rows were written (checked once the archive is done)
}

func (in *injector) Write(p []byte) (int, error) {
	if in.done {
		return in.w.Write(p)
	}
	data := append(in.held, p...)
	if i := bytes.Index(data, sheetDataEnd); i >= 0 {
		in.done, in.held = true, nil
		if _, err := in.w.Write(data[:i]); err != nil {
			return 0, err
		}
		bw := bufio.NewWriterSize(in.w, 64<<10)
		if err := in.rows(bw); err != nil {
			return 0, err
		}
		if err := bw.Flush(); err != nil {
			return 0, err
		}
		in.wrote = true
		if _, err := in.w.Write(data[i:]); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	keep := min(len(data), len(sheetDataEnd)-1)
	if _, err := in.w.Write(data[:len(data)-keep]); err != nil {
		return 0, err
	}
	in.held = append([]byte(nil), data[len(data)-keep:]...)
	return len(p), nil
}

// errNoSheetData is returned when excelize wrote a data sheet without the
// marker the rows go before.
var errNoSheetData = errors.New("excelize wrote a data sheet without </sheetData>")

// cellXML writes cells as excelize's StreamWriter does: numbers with the
// shortest decimal form Excel reads back (15 significant digits at most),
// text as inline strings (never a formula, never a shared string),
// escaped, with xml:space="preserve" when it begins or ends with a space,
// and cut to Excel's 32,767 characters.
type cellXML struct {
	buf []byte
}

// row writes <row r="n"> with the cells, skipping nil ones. styles[j] is
// the style of column j (its column style or the cell's own).
func (x *cellXML) row(w *bufio.Writer, n int, values []any, styles []int) error {
	b := x.buf[:0]
	b = append(b, `<row r="`...)
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `">`...)
	for j, v := range values {
		if v == nil {
			continue
		}
		s := styles[j]
		if c, ok := v.(cellWithStyle); ok {
			s, v = c.style, c.value
		}
		b = append(b, `<c r="`...)
		b = appendColumn(b, j+1)
		b = strconv.AppendInt(b, int64(n), 10)
		b = append(b, '"')
		if s != 0 {
			b = append(b, ` s="`...)
			b = strconv.AppendInt(b, int64(s), 10)
			b = append(b, '"')
		}
		switch v := v.(type) {
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				b = appendInlineString(b, strconv.FormatFloat(v, 'f', -1, 64))
				break
			}
			b = append(b, `><v>`...)
			b = appendFloat(b, v)
			b = append(b, `</v></c>`...)
		case string:
			b = appendInlineString(b, v)
		default:
			return errors.New("export: a data cell is neither a number nor text")
		}
	}
	b = append(b, `</row>`...)
	x.buf = b
	_, err := w.Write(b)
	return err
}

// cellWithStyle is a cell whose style is not its column's.
type cellWithStyle struct {
	style int
	value any
}

// appendColumn appends a column's letters (1 = A, 27 = AA).
func appendColumn(b []byte, col int) []byte {
	var tmp [4]byte
	i := len(tmp)
	for col > 0 {
		col--
		i--
		tmp[i] = byte('A' + col%26)
		col /= 26
	}
	return append(b, tmp[i:]...)
}

// appendFloat formats v as excelize's formatCellFloat does: strconv's
// shortest form, cut to Excel's 15 significant digits.
func appendFloat(b []byte, v float64) []byte {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if math.Abs(v) == math.MaxFloat64 {
		return append(b, s...)
	}
	const maxPrec = 15
	dot, significant := strings.IndexByte(s, '.'), 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' || significant == 0 && s[i] == '0' {
			continue
		}
		if significant++; significant <= maxPrec {
			continue
		}
		if dot >= 0 && i > dot {
			return append(b, strings.TrimSuffix(s[:i], ".")...)
		}
		if dot < 0 {
			dot = len(s)
		}
		t := []byte(s[:dot])
		for ; i < len(t); i++ {
			t[i] = '0'
		}
		return append(b, t...)
	}
	return append(b, s...)
}

// maxCellChars is Excel's limit on a cell's text, in UTF-16 units.
const maxCellChars = 32767

func appendInlineString(b []byte, s string) []byte {
	if len(s) > maxCellChars && utf16Len(s) > maxCellChars { // fewer bytes than the limit: fewer UTF-16 units too
		s = cutUTF16(s, maxCellChars)
	}
	b = append(b, ` t="inlineStr"><is><t`...)
	if s != "" && (isXMLSpace(s[0]) || isXMLSpace(s[len(s)-1])) {
		b = append(b, ` xml:space="preserve"`...)
	}
	b = append(b, '>')
	from := len(b)
	b = appendEscaped(b, s)
	// Excel reads _xHHHH_ in text as the character HHHH: a name that holds
	// one keeps it by escaping its underscore (_x005F_), as excelize does.
	if strings.Contains(s, "_x") {
		b = append(b[:from], bstrEscape.ReplaceAll(b[from:], []byte("_x005F$0"))...)
	}
	return append(b, `</t></is></c>`...)
}

// appendEscaped escapes s as encoding/xml's EscapeText does (a character
// XML cannot hold becomes U+FFFD), except that a newline stays itself, as
// excelize leaves it.
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\'' && c != '&' && c != '<' && c != '>' {
			i++
			continue
		}
		r, width := utf8.DecodeRuneInString(s[i:])
		var esc string
		switch r {
		case '"':
			esc = "&#34;"
		case '\'':
			esc = "&#39;"
		case '&':
			esc = "&amp;"
		case '<':
			esc = "&lt;"
		case '>':
			esc = "&gt;"
		case '\t':
			esc = "&#x9;"
		case '\n':
			i += width
			continue
		case '\r':
			esc = "&#xD;"
		default:
			if !inXMLRange(r) || (r == utf8.RuneError && width == 1) {
				esc = "\uFFFD"
				break
			}
			i += width
			continue
		}
		b = append(b, s[last:i]...)
		b = append(b, esc...)
		i += width
		last = i
	}
	return append(b, s[last:]...)
}

func inXMLRange(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF
}

var bstrEscape = regexp.MustCompile(`_x[0-9A-Fa-f]{4}_`)

func isXMLSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

func cutUTF16(s string, n int) string {
	for i, r := range s {
		if n -= utf16.RuneLen(r); n < 0 {
			return s[:i]
		}
	}
	return s
}
