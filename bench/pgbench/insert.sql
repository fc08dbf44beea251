-- The durable-commit baseline: one single-row insert per transaction.
insert into bench.commit_probe (client) values (:client_id);
