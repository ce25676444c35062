"""Game days: drills in order with one verdict, notifications, schedules as CronJobs."""
