//! Rotation schedules (interval, cron, jitter) and value generation. (Skeleton.)
