import { postgresDatabase } from "./server.js";
import { clientSuite } from "./suite.js";

clientSuite("PostgreSQL", await postgresDatabase());
