import { MemoryRolloutStore } from "../../../../tools/fleet/rollout/memoryStore.ts";
import { rolloutStoreContract } from "./storeContract.ts";

rolloutStoreContract("MemoryRolloutStore", { open: () => new MemoryRolloutStore() });
