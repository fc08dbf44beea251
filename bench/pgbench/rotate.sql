-- One refresh-token rotation per transaction, through sessionguard.rotate_session.
-- Client c owns families c+1, c+1+clients, c+1+2*clients, ... and rotates one of
-- them at random, so no two clients ever contend for a row.
\set k 1 + :client_id + :clients * random(0, :per - 1)
select bench.rotate(:k);
