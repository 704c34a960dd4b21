// Shard 2 of the kill -9 fault campaign (test/security/fault-kill.ts says what it checks).
import { campaignShardSuite } from "./fault-kill.js";

campaignShardSuite(2);
