/// Reply metadata of a call that ended every session of a user the caller did not name itself
/// (a password reset, which carries only a token): its value is the user's id. The edge forgets
/// that user's cached sessions when it sees it, so an ended session stops working there at once.
public enum SessionsEnded {
    public static let metadataKey = "x-atelier-sessions-ended"
}
