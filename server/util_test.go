package server_test

import (
	"bytes"
	"io"
	"net/http"
)

func bytesReader(b []byte) io.Reader {
	if b == nil {
		return http.NoBody
	}
	return bytes.NewReader(b)
}

func readAll(res *http.Response) ([]byte, error) { return io.ReadAll(res.Body) }
