"""Who runs narrations: an in-process runner by default, RQ on Redis to scale out."""
