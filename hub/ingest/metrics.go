package ingest

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	rejected    *prometheus.CounterVec
	checkins    *prometheus.CounterVec
	statuses    prometheus.Counter
	acks        prometheus.Counter
	resends     prometheus.Counter
	recoveries  prometheus.Counter
	storeErrors prometheus.Counter
	queueErrors prometheus.Counter
	queueDepth  prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pointage_ingest_rejected_total",
			Help: "Messages refused by the hub, by reason."}, []string{"reason"}),
		checkins: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "pointage_ingest_checkins_total",
			Help: "Check-ins by outcome: queued (accepted, on their way to the store), duplicate (redelivery), conflict, stored, quarantined."}, []string{"result"}),
		statuses: prometheus.NewCounter(prometheus.CounterOpts{Name: "pointage_ingest_statuses_total",
			Help: "Device statuses accepted and recorded (refused ones are in pointage_ingest_rejected_total)."}),
		acks:    prometheus.NewCounter(prometheus.CounterOpts{Name: "pointage_ingest_acks_total", Help: "Acks published."}),
		resends: prometheus.NewCounter(prometheus.CounterOpts{Name: "pointage_ingest_resend_requests_total", Help: "Resend commands published for sequence gaps."}),
		recoveries: prometheus.NewCounter(prometheus.CounterOpts{Name: "pointage_ingest_recovery_requests_total",
			Help: "Resend commands published because an agent holds acknowledged events the hub has not received (a restored hub; also in pointage_ingest_resend_requests_total)."}),
		storeErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "pointage_store_write_errors_total", Help: "Failed store writes (retried)."}),
		queueErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "pointage_ingest_queue_errors_total", Help: "Batches (or their rejections, statuses, conflicts) that could not be recorded in hub.db; their check-ins come again."}),
		queueDepth:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "pointage_ingest_batch_events", Help: "Events in the last batch written to the store."}),
	}
	for _, c := range []prometheus.Collector{m.rejected, m.statuses, m.checkins, m.acks, m.resends, m.recoveries, m.storeErrors, m.queueErrors, m.queueDepth} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}
