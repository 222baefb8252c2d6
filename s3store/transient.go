package s3store

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// IsTransient reports whether err is worth retrying later: throttling (SlowDown,
// 429, ...), server faults (5xx other than 501 Not Implemented), timeouts and
// connection errors. Client errors (4xx such as NoSuchKey, NoSuchBucket,
// AccessDenied, signature mismatches), invalid arguments and cancellation by the
// caller are permanent. Unknown errors are treated as permanent.
//
// The SDK has already retried a transient failure MaxAttempts times before the
// error reaches the caller; IsTransient is for the next level up (e.g. whether a
// queued task should be retried with backoff or given up).
func IsTransient(err error) bool {
	switch {
	case err == nil:
		return false
	case errors.Is(err, context.Canceled):
		return false
	case errors.Is(err, ErrNotFound), errors.Is(err, ErrBucketNotFound):
		return false
	case errors.Is(err, context.DeadlineExceeded):
		return true
	}

	// An HTTP status, when there is one, is the most reliable signal.
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		switch code := re.HTTPStatusCode(); {
		case code == http.StatusTooManyRequests, code == http.StatusRequestTimeout:
			return true
		case code == http.StatusNotImplemented:
			return false
		case code >= 500:
			return true
		case code >= 400:
			// Some servers send throttling codes with a 4xx status (e.g. 403
			// RequestLimitExceeded); trust the code over the status.
			return isRetryableCode(err)
		}
	}

	if isRetryableCode(err) {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) && api.ErrorFault() == smithy.FaultServer {
		return true
	}
	if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) == aws.TrueTernary {
		return true
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	return errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE)
}

// isRetryableCode reports the SDK's throttling error codes (SlowDown, Throttling,
// RequestLimitExceeded, ...), unmodelled 429s and request-timeout or internal-error codes.
func isRetryableCode(err error) bool {
	if retry.IsErrorThrottles(retry.DefaultThrottles).IsErrorThrottle(err) == aws.TrueTernary {
		return true
	}
	var api smithy.APIError
	if errors.As(err, &api) {
		switch api.ErrorCode() {
		case "RequestTimeout", "RequestTimeoutException", "InternalError", "ServiceUnavailable":
			return true
		}
	}
	return false
}
