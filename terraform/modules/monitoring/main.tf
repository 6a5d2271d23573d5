# Sale-day monitoring: log-based metrics over the functions' JSON log lines (the access line
# of every request, the worker's and the sweeper's outcome lines: docs/operations.md), a
# dashboard of them, and the alerts an operator acts on. Log-based rather than OpenTelemetry:
# the lines are written anyway, so the purchase path pays nothing more (README, Operating a sale).

locals {
  # Our own lines only (not Cloud Run's request log), of this deployment's functions.
  ours = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name:\"${var.name}-\" AND jsonPayload.function:*"
  # The worker's line for each order of each delivery of a persist-order task.
  settled = "${local.ours} AND jsonPayload.message=\"order settled\""
  # The sweeper's line for each pass, whatever it found.
  swept = "${local.ours} AND (jsonPayload.message=\"sweep\" OR jsonPayload.message=\"sweep finished what was left\")"

  metrics = {
    requests = {
      description = "Requests answered, by function and status (the access lines)."
      filter      = "${local.ours} AND httpRequest.status>0"
      labels      = { function = "EXTRACT(jsonPayload.function)", status = "EXTRACT(httpRequest.status)" }
    }
    errors_5xx = {
      description = "Requests answered 5xx, by function."
      filter      = "${local.ours} AND httpRequest.status>=500"
      labels      = { function = "EXTRACT(jsonPayload.function)" }
    }
    order_attempts = {
      description = "POST /orders answers by status and error code: 202 (accepted), sold_out, already_purchased, rate_limited, ..."
      filter      = "${local.ours} AND httpRequest.requestMethod=\"POST\" AND httpRequest.requestUrl=\"/orders\""
      labels      = { status = "EXTRACT(httpRequest.status)", error = "EXTRACT(jsonPayload.error)" }
    }
    orders_final = {
      description = "Orders the worker wrote, by final status."
      filter      = "${local.settled} AND jsonPayload.duplicate=false"
      labels      = { status = "EXTRACT(jsonPayload.status)" }
    }
    orders_failed = {
      description = "Orders that ended failed, by failure_reason (the worker's and the sweeper's)."
      filter      = "(${local.settled} AND jsonPayload.duplicate=false AND jsonPayload.status=\"failed\") OR (${local.ours} AND jsonPayload.message=\"sweeper repair\" AND jsonPayload.kind=\"gave_up\")"
      labels      = { reason = "EXTRACT(jsonPayload.failure_reason)" }
    }
    tasks_retried = {
      description = "Orders delivered again: each order of a persist-order task on a delivery that was not its first."
      filter      = "${local.settled} AND jsonPayload.retry>0"
      labels      = {}
    }
    drift_repaired = {
      description = "Sales whose Redis counts the sweeper found drifted from PostgreSQL and repaired."
      filter      = "${local.ours} AND jsonPayload.message=\"sweeper repair\" AND jsonPayload.kind=\"counts\""
      labels      = {}
    }
    final_latency = {
      description = "Time from an order's 202 to its final status in PostgreSQL (ms)."
      filter      = "${local.settled} AND jsonPayload.duplicate=false"
      labels      = {}
      value       = "EXTRACT(jsonPayload.final_latency_ms)"
      unit        = "ms"
    }
    pending_stale = {
      description = "Pending orders older than PENDING_REDRIVE_AFTER_MS, as each sweeper pass found them."
      filter      = local.swept
      labels      = {}
      value       = "EXTRACT(jsonPayload.pending_stale)"
      unit        = "1"
    }
  }

  metric_type = { for k, m in google_logging_metric.metric : k => "logging.googleapis.com/user/${m.name}" }
  duration    = "${var.thresholds.duration_seconds}s"

  # Dashboard tiles: a title and a query (metric filter, aligner, reducer, grouping).
  charts = [
    { title = "Purchase attempts by answer (/s)", metric = "order_attempts", aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group = ["metric.label.status", "metric.label.error"] },
    { title = "202 → final latency, p50 and p99 (ms)", metric = "final_latency", aligner = "ALIGN_PERCENTILE_99", reducer = "REDUCE_MAX", group = [] },
    { title = "5xx answers by function (/s)", metric = "errors_5xx", aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group = ["metric.label.function"] },
    { title = "Orders failed by reason (/s)", metric = "orders_failed", aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group = ["metric.label.reason"] },
    { title = "Tasks retried (/s)", metric = "tasks_retried", aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group = [] },
    { title = "Pending older than the redrive time (max per pass)", metric = "pending_stale", aligner = "ALIGN_PERCENTILE_99", reducer = "REDUCE_MAX", group = [] },
    { title = "Drift repaired (count)", metric = "drift_repaired", aligner = "ALIGN_DELTA", reducer = "REDUCE_SUM", group = [] },
    { title = "Orders written by status (/s)", metric = "orders_final", aligner = "ALIGN_RATE", reducer = "REDUCE_SUM", group = ["metric.label.status"] },
  ]
}

resource "google_logging_metric" "metric" {
  for_each    = local.metrics
  project     = var.project_id
  name        = "${var.name}/${each.key}"
  description = each.value.description
  filter      = each.value.filter

  metric_descriptor {
    metric_kind  = "DELTA"
    value_type   = lookup(each.value, "value", null) == null ? "INT64" : "DISTRIBUTION"
    unit         = lookup(each.value, "unit", "1")
    display_name = "${var.name} ${each.key}"
    dynamic "labels" {
      for_each = each.value.labels
      content {
        key        = labels.key
        value_type = "STRING"
      }
    }
  }
  label_extractors = each.value.labels
  value_extractor  = lookup(each.value, "value", null)

  dynamic "bucket_options" {
    for_each = lookup(each.value, "value", null) == null ? [] : [1]
    content {
      # 1, 2, 4 … 2^19 (about 9 minutes in ms; 500k pending orders): wide enough for both distributions.
      exponential_buckets {
        num_finite_buckets = 20
        growth_factor      = 2
        scale              = 1
      }
    }
  }
}

resource "google_monitoring_dashboard" "sale" {
  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "${var.name}: sale day"
    mosaicLayout = {
      columns = 12
      tiles = concat(
        [for i, c in local.charts : {
          xPos   = (i % 2) * 6
          yPos   = floor(i / 2) * 4
          width  = 6
          height = 4
          widget = {
            title = c.title
            xyChart = {
              dataSets = [{
                plotType = "LINE"
                timeSeriesQuery = {
                  timeSeriesFilter = {
                    filter = "metric.type=\"${local.metric_type[c.metric]}\""
                    aggregation = {
                      alignmentPeriod    = "60s"
                      perSeriesAligner   = c.aligner
                      crossSeriesReducer = c.reducer
                      groupByFields      = c.group
                    }
                  }
                }
              }]
            }
          }
        }],
        [{
          xPos   = 0
          yPos   = ceil(length(local.charts) / 2) * 4
          width  = 6
          height = 4
          widget = {
            title = "Redis memory used (share of the instance)"
            xyChart = {
              dataSets = [{
                plotType = "LINE"
                timeSeriesQuery = {
                  timeSeriesFilter = {
                    filter      = "metric.type=\"redis.googleapis.com/stats/memory/usage_ratio\" AND resource.type=\"redis_instance\""
                    aggregation = { alignmentPeriod = "60s", perSeriesAligner = "ALIGN_MAX" }
                  }
                }
              }]
            }
          }
        }]
      )
    }
  })
}

resource "google_monitoring_alert_policy" "error_rate" {
  project               = var.project_id
  display_name          = "${var.name}: 5xx answers"
  combiner              = "OR"
  severity              = "ERROR"
  user_labels           = var.labels
  notification_channels = var.notification_channels
  conditions {
    display_name = "5xx share of all answers above ${var.thresholds.error_ratio * 100}%"
    condition_threshold {
      filter             = "metric.type=\"${local.metric_type.errors_5xx}\" AND resource.type=\"cloud_run_revision\""
      denominator_filter = "metric.type=\"${local.metric_type.requests}\" AND resource.type=\"cloud_run_revision\""
      comparison         = "COMPARISON_GT"
      threshold_value    = var.thresholds.error_ratio
      duration           = local.duration
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
      denominator_aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
  documentation {
    mime_type = "text/markdown"
    content   = "Functions answer 5xx: a store is down (503) or a defect (500). The log lines with severity ERROR name the function and the request. README: Operating a sale, During."
  }
}

resource "google_monitoring_alert_policy" "stuck_pending" {
  project               = var.project_id
  display_name          = "${var.name}: orders stuck pending"
  combiner              = "OR"
  severity              = "CRITICAL"
  user_labels           = var.labels
  notification_channels = var.notification_channels
  conditions {
    display_name = "pending orders older than the redrive time at the sweeper's passes"
    condition_threshold {
      filter          = "metric.type=\"${local.metric_type.pending_stale}\" AND resource.type=\"cloud_run_revision\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = local.duration
      aggregations {
        alignment_period     = "120s"
        per_series_aligner   = "ALIGN_PERCENTILE_99"
        cross_series_reducer = "REDUCE_MAX"
      }
    }
  }
  documentation {
    mime_type = "text/markdown"
    content   = "Buyers were told 202 but their orders are not written: the worker cannot reach PostgreSQL, the queue is not delivering, or the worker's URL or audience is wrong. Past PENDING_GIVE_UP_AFTER_MS they end failed (not_persisted). README: Operating a sale, During."
  }
}

resource "google_monitoring_alert_policy" "worker_failures" {
  project               = var.project_id
  display_name          = "${var.name}: order-worker failing"
  combiner              = "OR"
  severity              = "ERROR"
  user_labels           = var.labels
  notification_channels = var.notification_channels
  conditions {
    display_name = "order-worker answers 5xx (the queue retries)"
    condition_threshold {
      filter          = "metric.type=\"${local.metric_type.errors_5xx}\" AND resource.type=\"cloud_run_revision\" AND metric.label.function=\"order-worker\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = local.duration
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
  conditions {
    display_name = "orders given up (failed, not_persisted)"
    condition_threshold {
      filter          = "metric.type=\"${local.metric_type.orders_failed}\" AND resource.type=\"cloud_run_revision\" AND metric.label.reason=\"not_persisted\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_SUM"
      }
    }
  }
  documentation {
    mime_type = "text/markdown"
    content   = "The order-worker cannot write orders (PostgreSQL down or full, a defect), or the sweeper gave up on orders. README: Operating a sale, During."
  }
}

resource "google_monitoring_alert_policy" "redis_memory" {
  project               = var.project_id
  display_name          = "${var.name}: Redis memory"
  combiner              = "OR"
  severity              = "WARNING"
  user_labels           = var.labels
  notification_channels = var.notification_channels
  conditions {
    display_name = "Memorystore memory used above ${var.thresholds.redis_memory_ratio * 100}%"
    condition_threshold {
      filter          = "metric.type=\"redis.googleapis.com/stats/memory/usage_ratio\" AND resource.type=\"redis_instance\" AND resource.labels.instance_id=monitoring.regex.full_match(\".*/instances/${var.name}-redis\")"
      comparison      = "COMPARISON_GT"
      threshold_value = var.thresholds.redis_memory_ratio
      duration        = local.duration
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
    }
  }
  documentation {
    mime_type = "text/markdown"
    content   = "Redis runs with noeviction: when full, every purchase attempt fails (503). Raise memory_size_gb, or let ended sales' keys expire. README: Operating a sale, During."
  }
}
