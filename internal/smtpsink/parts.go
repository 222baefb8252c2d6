package smtpsink

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
)

// Part is a leaf of a received message's MIME tree, decoded.
type Part struct {
	Type string // media type, e.g. text/plain
	CID  string // Content-ID without angle brackets
	Body []byte
}

// Parts parses a received message and returns its header and its leaves depth first,
// decoded (quoted-printable, base64). It reads at most 64 MiB.
func Parts(data []byte) (mail.Header, []Part, error) {
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, nil, fmt.Errorf("message: %w", err)
	}
	ps, err := parts(m.Header.Get("Content-Type"), io.LimitReader(m.Body, 64<<20), 0)
	return m.Header, ps, err
}

func parts(contentType string, body io.Reader, depth int) ([]Part, error) {
	if depth > 8 {
		return nil, fmt.Errorf("message: MIME nested too deep")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return nil, fmt.Errorf("message: content type %q: %w", contentType, err)
	}
	if !strings.HasPrefix(mt, "multipart/") {
		b, err := io.ReadAll(body)
		return []Part{{Type: mt, Body: b}}, err
	}
	var out []Part
	r := multipart.NewReader(body, params["boundary"])
	for {
		p, err := r.NextPart() // decodes quoted-printable
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("message: %w", err)
		}
		ct := p.Header.Get("Content-Type")
		if strings.HasPrefix(ct, "multipart/") {
			sub, err := parts(ct, p, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
			continue
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, fmt.Errorf("message: %w", err)
		}
		if strings.EqualFold(p.Header.Get("Content-Transfer-Encoding"), "base64") {
			if b, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(b))); err != nil {
				return nil, fmt.Errorf("message: base64: %w", err)
			}
		}
		pt, _, _ := mime.ParseMediaType(ct)
		out = append(out, Part{Type: pt, CID: strings.Trim(p.Header.Get("Content-ID"), "<>"), Body: b})
	}
}
