// Package apperr is Monobase's one error type: a code that every transport maps
// in one table (HTTP status here in HTTPStatus, GraphQL extensions.code in
// package gqlerr), a message that is safe to show to clients, and optional
// per-field messages for bad input. It knows no GraphQL, so every package
// below the engine may use it.
package apperr

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"
)

// Code classifies an error for clients. The values are the GraphQL
// extensions.code strings of the public contract.
type Code string

// The codes of docs/api.md "Errors".
const (
	Unauthenticated Code = "UNAUTHENTICATED"
	Forbidden       Code = "FORBIDDEN"
	NotFound        Code = "NOT_FOUND"
	Invalid         Code = "BAD_USER_INPUT"
	Conflict        Code = "CONFLICT"
	TooLarge        Code = "PAYLOAD_TOO_LARGE"
	RateLimited     Code = "RATE_LIMITED"
	Timeout         Code = "TIMEOUT"      // the operation ran past its time limit
	MFARequired     Code = "MFA_REQUIRED" // the first sign-in method succeeded; a second must follow (extensions.mfaId)
	Internal        Code = "INTERNAL_SERVER_ERROR"
)

// FieldError is the message for one input field; Code is a short machine
// readable reason such as "required" or "too_long".
type FieldError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is an error that may be shown to clients.
type Error struct {
	Code    Code
	Message string
	// Fields holds per-field messages for Invalid errors, keyed by field name
	// (nested inputs use dotted paths such as "fields.2.name").
	Fields map[string]FieldError
	// Pos is the 1-based position (byte offset + 1) in an input text such
	// as a filter or a rule that the error is about; 0 when none.
	Pos int
	// RetryAfter is how long a RateLimited caller should wait before
	// trying again (extensions.retryAfter, in whole seconds); 0 when none.
	RetryAfter time.Duration
	// MFAID is the multi-factor sign-in that an MFARequired caller passes
	// to its second sign-in method (extensions.mfaId); "" when none.
	MFAID string
	// Err is the wrapped cause; it is logged, never shown.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(" (")
		for i, k := range keys {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(k + ": " + e.Fields[k].Message)
		}
		b.WriteString(")")
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with the code and a client-safe message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Wrap returns an Internal error that hides err from clients but keeps it for logs.
func Wrap(err error, format string, args ...any) *Error {
	return &Error{Code: Internal, Message: fmt.Sprintf(format, args...), Err: err}
}

// Limited returns a RATE_LIMITED error that tells the caller to wait
// retryAfter before trying again.
func Limited(retryAfter time.Duration, format string, args ...any) *Error {
	return &Error{Code: RateLimited, Message: fmt.Sprintf(format, args...), RetryAfter: retryAfter}
}

// NeedMFA returns an MFA_REQUIRED error: the first sign-in method
// succeeded, and a second, different one must follow with mfaID.
func NeedMFA(mfaID string) *Error {
	return &Error{Code: MFARequired, Message: "a second sign-in method is required: sign in again with another method and extensions.mfaId as mfaId", MFAID: mfaID}
}

// RetryAfterSeconds returns d in whole seconds, rounded up and at least 1:
// the value of extensions.retryAfter and of the Retry-After header.
func RetryAfterSeconds(d time.Duration) int64 {
	return max(1, int64((d+time.Second-1)/time.Second))
}

// InvalidFields returns a BAD_USER_INPUT error with per-field messages.
func InvalidFields(message string, fields map[string]FieldError) *Error {
	return &Error{Code: Invalid, Message: message, Fields: fields}
}

// FieldErrors collects per-field messages; its zero value is ready to use.
type FieldErrors map[string]FieldError

// Add records a message for field unless one is already recorded.
func (f *FieldErrors) Add(field, code, format string, args ...any) {
	if *f == nil {
		*f = FieldErrors{}
	}
	if _, ok := (*f)[field]; !ok {
		(*f)[field] = FieldError{Code: code, Message: fmt.Sprintf(format, args...)}
	}
}

// Err returns nil when no field failed, else a BAD_USER_INPUT error.
func (f FieldErrors) Err(message string) error {
	if len(f) == 0 {
		return nil
	}
	return InvalidFields(message, f)
}

// CodeOf returns the code of err, Internal for errors that are not *Error.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return Internal
}

// As returns the *Error inside err, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// Is reports whether err carries the code.
func Is(err error, code Code) bool { return CodeOf(err) == code }

// HTTPStatus is the one table from code to HTTP status.
func HTTPStatus(code Code) int {
	switch code {
	case Unauthenticated, MFARequired:
		return http.StatusUnauthorized
	case Forbidden:
		return http.StatusForbidden
	case NotFound:
		return http.StatusNotFound
	case Invalid:
		return http.StatusBadRequest
	case Conflict:
		return http.StatusConflict
	case TooLarge:
		return http.StatusRequestEntityTooLarge
	case RateLimited:
		return http.StatusTooManyRequests
	case Timeout:
		return http.StatusGatewayTimeout
	default:
		return http.StatusInternalServerError
	}
}
