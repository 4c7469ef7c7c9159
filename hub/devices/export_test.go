package devices

// FastBcryptForTest lowers the bcrypt cost for tests of other packages
// (devices_test) that run under the race detector.
func FastBcryptForTest(r *Registry) { fastBcrypt(r) }
