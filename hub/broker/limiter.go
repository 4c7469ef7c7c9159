package broker

import "pointage/hub/auth"

// LoginLimit bounds failed MQTT logins, per address and user name (default
// 10 a minute) and per address (default 100 a minute): the hub's one
// failed-login limiter, shared with the dashboard and the API.
type LoginLimit = auth.LoginLimit

func newLimiter(l LoginLimit) *auth.Limiter { return auth.NewLimiter(l) }
